/**
 * The handler's one retry layer. Every AWS call is one HTTP attempt (the SDK
 * clients are built with maxAttempts 1, lambda/aws.ts), so this loop sees
 * every attempt: it retries what is worth retrying until the phase's
 * deadline, knows whether a failed write may have landed, and reports the
 * last error AWS gave.
 */
import { Ctx, HandlerConfig, log } from './context';

/** An error whose message is the reason CloudFormation shows. */
export class SettingsError extends Error {
  constructor(
    message: string,
    /** False when a write may have been applied (no answer, or a 5xx). */
    readonly changedNothing: boolean,
  ) {
    super(message);
  }
}

/** What one retried call is, for its messages. */
export interface Operation {
  readonly templateName: string;
  readonly name: string;
  /** A write: a failed attempt may have been applied. */
  readonly write?: boolean;
  /** The provisioning role the template will have, named if AWS IoT cannot assume it. */
  readonly roleArn?: string;
}

/**
 * Run `call` (one HTTP attempt) until it succeeds, fails for good, or the
 * phase runs out of time. Retried: throttling, 409
 * ConflictingResourceUpdateException, 5xx, network errors, and (for
 * `rolePropagationMs`) a role AWS IoT cannot assume yet or an access denial
 * while IAM applies the handler's new policy.
 */
export async function withRetries<T>(ctx: Ctx, op: Operation, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const started = Date.now();
  let landed = false;
  let last: unknown;
  for (let attempt = 1; ; attempt++) {
    if (ctx.signal.aborted) {
      // Out of time before this attempt (a timer that fired late): nothing more was sent.
      const error = last ?? Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
      throw new SettingsError(failureMessage(op, error, attempt - 1, Date.now() - started, true), !landed);
    }
    let error: unknown;
    try {
      return await call(ctx.signal);
    } catch (e) {
      error = e;
    }
    const aborted = ctx.signal.aborted;
    // The deadline's abort cuts a call off mid-request: report the last error AWS gave, not the abort.
    if (!aborted || last === undefined) last = error;
    landed ||= op.write === true && mayHaveLanded(error);
    const elapsed = Date.now() - started;
    const retry = !aborted && retryable(error, elapsed, ctx.config);
    const delay = backoff(attempt, ctx.config);
    const outOfTime = aborted || (retry && Date.now() + delay >= ctx.deadline);
    if (!retry || outOfTime) {
      throw new SettingsError(failureMessage(op, last, attempt, elapsed, outOfTime), !landed);
    }
    log('retrying', {
      templateName: op.templateName,
      operation: op.name,
      attempt,
      error: errorName(error),
      delayMs: delay,
    });
    await sleep(delay);
  }
}

const ROLE_NOT_ASSUMABLE = /role.*(cannot|could not|can ?not|unable to).*assume|assume.*role/i;

/** AWS IoT's answer when it cannot assume the provisioning role (yet): an InvalidRequestException that says so. */
function roleNotAssumable(e: unknown): boolean {
  return errorName(e) === 'InvalidRequestException' && ROLE_NOT_ASSUMABLE.test(errorMessage(e));
}

export function retryable(e: unknown, elapsedMs: number, config: HandlerConfig): boolean {
  const name = errorName(e);
  if (name === 'InvalidRequestException') {
    return roleNotAssumable(e) && elapsedMs < config.rolePropagationMs;
  }
  // The handler's own policy is replaced when templates or roles change, just
  // before the custom resources that need it: IAM may take seconds to apply it.
  // (CloudFormation's own codes are AccessDenied and Throttling.)
  if (/^(AccessDenied|Unauthorized)(Exception)?$/.test(name)) {
    return elapsedMs < config.rolePropagationMs;
  }
  if (/^(ConflictingResourceUpdate|Throttling|TooManyRequests)(Exception)?$/.test(name)) {
    return true;
  }
  const status = httpStatus(e);
  if (status === 429 || (status !== undefined && status >= 500)) {
    return true;
  }
  // No HTTP answer at all: connection refused or reset, request timed out.
  return status === undefined && isNetworkError(e);
}

const NETWORK_ERROR_CODES = /^E(CONNRESET|CONNREFUSED|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH|NOTFOUND|AI_AGAIN)$/;

/**
 * An error of the network, not of the handler: the SDK puts $metadata on
 * what it sent, names its timeouts TimeoutError, and Node gives socket errors
 * a code. Anything else (a TypeError, say) is a bug, and retrying it only
 * delays the FAILED answer.
 */
function isNetworkError(e: unknown): boolean {
  const err = e as { $metadata?: unknown; name?: string; code?: string } | undefined;
  return err?.$metadata !== undefined || err?.name === 'TimeoutError' || NETWORK_ERROR_CODES.test(err?.code ?? '');
}

/**
 * Whether a failed write attempt may have been applied by AWS IoT: no HTTP
 * answer (timeout, reset, abort mid-request), or a 5xx. A refused
 * connection sent nothing.
 */
export function mayHaveLanded(e: unknown): boolean {
  if ((e as { code?: string } | undefined)?.code === 'ECONNREFUSED') return false;
  const status = httpStatus(e);
  return status === undefined || status >= 500;
}

/** Exponential backoff with jitter: half the ceiling, plus up to half again. */
export function backoff(attempt: number, config: HandlerConfig): number {
  const ceiling = Math.min(config.retryMaxDelayMs, config.retryBaseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

function failureMessage(op: Operation, e: unknown, attempts: number, elapsedMs: number, timedOut: boolean): string {
  const cause = `${errorName(e)}: ${errorMessage(e)}`;
  const tries = attempts > 1 ? ` after ${attempts} attempts over ${Math.round(elapsedMs / 1000)}s` : '';
  const prefix = `${op.name} on provisioning template "${op.templateName}" failed${tries}`;
  if (roleNotAssumable(e)) {
    const role = op.roleArn ? ` ${op.roleArn}` : '';
    const end = timedOut ? " Gave up before the handler's timeout." : '';
    return `${prefix}: AWS IoT cannot assume the provisioning role${role} (its trust policy must allow iot.amazonaws.com; a new role takes a minute to propagate). ${cause}${end}`;
  }
  if (timedOut && errorName(e) === 'AbortError') {
    return `${prefix}: gave up before the handler's timeout, with no answer in time.`;
  }
  if (timedOut) {
    return `${prefix}: gave up before the handler's timeout (last error ${cause}).`;
  }
  return `${prefix}: ${cause}`;
}

/** The reason CloudFormation shows for `e`. */
export function reasonFor(e: unknown, templateName: string): string {
  return e instanceof SettingsError
    ? e.message
    : `Provisioning template "${templateName}": ${errorName(e)}: ${errorMessage(e)}`;
}

export function errorName(e: unknown): string {
  return (e as { name?: string } | undefined)?.name ?? 'Error';
}

export function errorMessage(e: unknown): string {
  return (e as { message?: string } | undefined)?.message ?? String(e);
}

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
