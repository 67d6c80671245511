/**
 * Every time limit of the construct and its handler, in one place: the
 * construct (lib/) renders the Lambda timeout, the service timeout and the
 * event age from it; the handler (lambda/) takes its reserves, windows and
 * retry delays from it. The README's numbers are checked against it
 * (test/readme.test.ts), and `timingProblems` says when the values no longer
 * fit inside each other (test/timing.test.ts).
 *
 * Plain numbers, no aws-cdk-lib: the handler bundle imports this module.
 *
 * Internal: not exported from the package's entry point.
 */

export interface Timing {
  /** The handler's Lambda timeout. It answers CloudFormation before this, whatever happens. */
  readonly handlerTimeoutMs: number;
  /**
   * CloudFormation's wait for an answer (the custom resource's ServiceTimeout).
   * Covers one redelivery of a crashed invocation; a lost answer fails the
   * stack after this, not after an hour.
   */
  readonly serviceTimeoutMs: number;
  /**
   * How long Lambda may hold one of CloudFormation's asynchronous events,
   * retries included, before the handler starts on it. An older event is
   * dropped, not run: started later, it could still be writing when
   * CloudFormation has given up and its rollback has removed the hook.
   */
  readonly maxEventAgeMs: number;
  /** Kept free before the Lambda timeout to send the answer to CloudFormation. */
  readonly responseReserveMs: number;
  /**
   * Kept free after a write that CloudFormation is asked about (lambda/check.ts):
   * half for the question, half for a possible undo.
   */
  readonly checkReserveMs: number;
  /**
   * How long IAM changes are waited for: a provisioning role AWS IoT cannot
   * assume yet, or an access denial while the handler's new policy propagates.
   */
  readonly rolePropagationMs: number;
  /** How long one HTTP request may take before it is abandoned and retried. */
  readonly requestTimeoutMs: number;
  /** First delay between retries; doubles up to `retryMaxDelayMs`, with jitter. */
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** Attempts to deliver the answer to CloudFormation. */
  readonly responseAttempts: number;
}

export const TIMING: Timing = {
  handlerTimeoutMs: 3 * 60_000,
  serviceTimeoutMs: 10 * 60_000,
  maxEventAgeMs: 6 * 60_000,
  responseReserveMs: 15_000,
  checkReserveMs: 20_000,
  rolePropagationMs: 60_000,
  requestTimeoutMs: 10_000,
  retryBaseDelayMs: 1_000,
  retryMaxDelayMs: 15_000,
  responseAttempts: 6,
};

/** Lambda's longest timeout. */
const LAMBDA_MAX_TIMEOUT_MS = 15 * 60_000;
/** The longest ServiceTimeout CloudFormation accepts for a custom resource. */
const CFN_MAX_SERVICE_TIMEOUT_MS = 60 * 60_000;

/**
 * What does not fit in `t`, one sentence each; empty when everything fits.
 * Each rule is a guarantee the README makes.
 */
export function timingProblems(t: Timing): string[] {
  const problems: string[] = [];
  const fail = (when: boolean, why: string) => when && problems.push(why);
  fail(
    t.handlerTimeoutMs > LAMBDA_MAX_TIMEOUT_MS,
    `handlerTimeoutMs ${t.handlerTimeoutMs} is over Lambda's 15 minutes`,
  );
  fail(
    t.serviceTimeoutMs > CFN_MAX_SERVICE_TIMEOUT_MS,
    `serviceTimeoutMs ${t.serviceTimeoutMs} is over CloudFormation's 60 minutes`,
  );
  // An event started as late as Lambda allows still ends (answered or not) before CloudFormation gives up.
  fail(
    t.maxEventAgeMs + t.handlerTimeoutMs >= t.serviceTimeoutMs,
    `maxEventAgeMs + handlerTimeoutMs (${t.maxEventAgeMs + t.handlerTimeoutMs}) must be under serviceTimeoutMs (${t.serviceTimeoutMs})`,
  );
  // A write retried through the whole propagation window still leaves time to ask, undo and answer.
  const afterPropagation = t.rolePropagationMs + t.retryMaxDelayMs + t.checkReserveMs + t.responseReserveMs;
  fail(
    afterPropagation >= t.handlerTimeoutMs,
    `rolePropagationMs + retryMaxDelayMs + checkReserveMs + responseReserveMs (${afterPropagation}) must be under handlerTimeoutMs (${t.handlerTimeoutMs})`,
  );
  // One request of the question, and one of the undo, each fit in half the check reserve.
  fail(
    t.requestTimeoutMs > t.checkReserveMs / 2,
    `requestTimeoutMs (${t.requestTimeoutMs}) must fit in half of checkReserveMs (${t.checkReserveMs / 2})`,
  );
  // The answer gets one whole request before the Lambda timeout (a second is kept after it).
  fail(
    t.requestTimeoutMs + 1_000 > t.responseReserveMs,
    `requestTimeoutMs + 1 s (${t.requestTimeoutMs + 1_000}) must fit in responseReserveMs (${t.responseReserveMs})`,
  );
  fail(
    t.retryBaseDelayMs <= 0 || t.retryBaseDelayMs > t.retryMaxDelayMs,
    `retryBaseDelayMs (${t.retryBaseDelayMs}) must be positive and at most retryMaxDelayMs (${t.retryMaxDelayMs})`,
  );
  fail(t.responseAttempts < 1, `responseAttempts (${t.responseAttempts}) must be at least 1`);
  return problems;
}
