/**
 * Handler of Custom::IoTProvisioningTemplateSettings.
 *
 * One function that answers CloudFormation itself (no Provider framework):
 * it reads the template once, writes it at most once, and always sends an
 * answer before its own timeout. After writing, it asks CloudFormation whether
 * the stack still wants the write; only if a rollback has overtaken it does a
 * second write undo the first (see Invocation#confirmStillCurrent). See
 * README "Design" for why.
 */
import type {
  CloudFormationClient,
  DescribeStackResourceCommand,
  DescribeStackResourceCommandOutput,
  DescribeStacksCommand,
  DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import type {
  DescribeProvisioningTemplateCommand,
  DescribeProvisioningTemplateCommandOutput,
  IoTClient,
  UpdateProvisioningTemplateCommand,
  UpdateProvisioningTemplateCommandInput,
} from '@aws-sdk/client-iot';
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceResponse,
  CloudFormationCustomResourceUpdateEvent,
  Context,
} from 'aws-lambda';
import { CREATE_FAILED_MARKER, HookProperties, SettingsData, SettingsProperties } from '../lib/handler-contract';

/** Tunables, read from the environment on each invocation so tests can shrink them. */
export interface HandlerConfig {
  /** Time kept free before the Lambda timeout to send the answer. */
  readonly responseReserveMs: number;
  /** First delay of the handler's own retries; doubles up to `retryMaxDelayMs`, with jitter. */
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  /**
   * How long IAM changes are waited for: a provisioning role IoT cannot assume
   * yet, or an access denial while the handler's own new policy propagates.
   */
  readonly rolePropagationMs: number;
  /** Attempts the SDK makes for one call (throttling, 5xx, network errors). */
  readonly sdkMaxAttempts: number;
  /** Time one HTTP request to IoT may take before the SDK gives up on it and retries. */
  readonly requestTimeoutMs: number;
  /** Attempts to deliver the answer to CloudFormation. */
  readonly responseAttempts: number;
  /**
   * Time a write that CloudFormation is asked about afterwards (see
   * Invocation#confirmStillCurrent) leaves before the deadline for that
   * question and a possible undo.
   */
  readonly checkReserveMs: number;
}

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

export function configFromEnv(): HandlerConfig {
  return {
    responseReserveMs: numberFromEnv('SETTINGS_RESPONSE_RESERVE_MS', 15_000),
    retryBaseDelayMs: numberFromEnv('SETTINGS_RETRY_BASE_DELAY_MS', 1_000),
    retryMaxDelayMs: numberFromEnv('SETTINGS_RETRY_MAX_DELAY_MS', 15_000),
    rolePropagationMs: numberFromEnv('SETTINGS_ROLE_PROPAGATION_MS', 60_000),
    sdkMaxAttempts: numberFromEnv('SETTINGS_SDK_MAX_ATTEMPTS', 4),
    requestTimeoutMs: numberFromEnv('SETTINGS_REQUEST_TIMEOUT_MS', 10_000),
    responseAttempts: numberFromEnv('SETTINGS_RESPONSE_ATTEMPTS', 6),
    checkReserveMs: numberFromEnv('SETTINGS_CHECK_RESERVE_MS', 20_000),
  };
}

type IotSdk = typeof import('@aws-sdk/client-iot');
let iotSdk: IotSdk | undefined;

/**
 * The IoT SDK (shipped by the Lambda runtime), loaded with the first event
 * rather than with this module: a cold start pays for it either way, but the
 * module itself loads in a few milliseconds.
 */
function sdk(): IotSdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  iotSdk ??= require('@aws-sdk/client-iot') as IotSdk;
  return iotSdk;
}

type CfnSdk = typeof import('@aws-sdk/client-cloudformation');
let cfnSdk: CfnSdk | undefined;

/** The CloudFormation SDK, loaded only by an event that writes and then asks (see Invocation#confirmStillCurrent). */
function cfnSdkModule(): CfnSdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  cfnSdk ??= require('@aws-sdk/client-cloudformation') as CfnSdk;
  return cfnSdk;
}

/** The SDK clients' shared settings: retries and timeouts from the handler's config. */
function clientConfig(config: HandlerConfig) {
  return {
    maxAttempts: config.sdkMaxAttempts,
    // throwOnRequestTimeout: recent SDKs only log a warning when requestTimeout passes and keep waiting.
    requestHandler: {
      requestTimeout: config.requestTimeoutMs,
      connectionTimeout: Math.min(config.requestTimeoutMs, 5_000),
      throwOnRequestTimeout: true,
    },
  };
}

const clients = new Map<string, unknown>();

/** One client per service and settings, kept for the sandbox's next events. */
function cachedClient<T>(service: string, config: HandlerConfig, make: (c: ReturnType<typeof clientConfig>) => T): T {
  const key = `${service}/${config.sdkMaxAttempts}/${config.requestTimeoutMs}`;
  if (!clients.has(key)) {
    clients.set(key, make(clientConfig(config)));
  }
  return clients.get(key) as T;
}

/** The IoT client: the SDK's standard configuration (region, credentials, AWS_ENDPOINT_URL_IOT). */
function iotClient(config: HandlerConfig): IoTClient {
  return cachedClient('iot', config, (c) => new (sdk().IoTClient)(c));
}

/** The CloudFormation client: the SDK's standard configuration (AWS_ENDPOINT_URL_CLOUDFORMATION). */
function cfnClient(config: HandlerConfig): CloudFormationClient {
  return cachedClient('cloudformation', config, (c) => new (cfnSdkModule().CloudFormationClient)(c));
}

/** An error whose message is the reason CloudFormation shows. */
class SettingsError extends Error {
  constructor(
    message: string,
    readonly changedNothing: boolean,
  ) {
    super(message);
  }
}

interface Outcome {
  readonly physicalResourceId: string;
  readonly data?: SettingsData;
}

type Describe = DescribeProvisioningTemplateCommandOutput;
type CreateOrUpdate = CloudFormationCustomResourceCreateEvent | CloudFormationCustomResourceUpdateEvent;

/**
 * Whether CloudFormation still wants a write. `stale` false: it gave no clear
 * answer. `deleting`: the resource, or its stack, is being deleted.
 */
type Verdict = { wanted: true } | { wanted: false; stale: boolean; deleting?: boolean; why: string };

/** The work of one invocation, bounded by a deadline. */
class Invocation {
  readonly #client: IoTClient;
  readonly #abort = new AbortController();
  readonly #timer: NodeJS.Timeout;
  /** The last error of one HTTP attempt of the current call (the SDK retries inside a call); aborts aside. */
  #lastAttemptError: unknown;
  /** Whether an UpdateProvisioningTemplate attempt may have reached IoT and been applied. */
  #writeMayHaveLanded = false;
  /** HTTP attempts of the current call, the SDK's own retries included. */
  #attemptsSeen = 0;
  /** When the current calls must end: the deadline, or earlier inside `#reserving`. */
  #phase: { readonly deadline: number; readonly signal: AbortSignal };

  constructor(
    private readonly config: HandlerConfig,
    deadline: number,
  ) {
    this.#client = iotClient(config);
    this.#timer = setTimeout(() => this.#abort.abort(), Math.max(0, deadline - Date.now()));
    this.#phase = { deadline, signal: this.#abort.signal };
  }

  /** Run `fn` with its calls ending `reserveMs` before the current deadline, kept for what follows. */
  async #reserving<T>(reserveMs: number, fn: () => Promise<T>): Promise<T> {
    const outer = this.#phase;
    const deadline = outer.deadline - reserveMs;
    const early = new AbortController();
    const timer = setTimeout(() => early.abort(), Math.max(0, deadline - Date.now()));
    this.#phase = { deadline, signal: AbortSignal.any([outer.signal, early.signal]) };
    try {
      return await fn();
    } finally {
      clearTimeout(timer);
      this.#phase = outer;
    }
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }

  async run(event: CloudFormationCustomResourceEvent): Promise<Outcome> {
    const props = event.ResourceProperties as unknown as SettingsProperties;
    switch (event.RequestType) {
      case 'Create':
        return this.#apply(event, props, undefined);
      case 'Update': {
        const old = event.OldResourceProperties as unknown as SettingsProperties;
        return this.#apply(event, props, old.TemplateName === props.TemplateName ? old : undefined);
      }
      case 'Delete':
        return this.#delete(event.PhysicalResourceId, props);
    }
  }

  /** Create, or Update to `props`; `old` is the previous state of the same template. */
  async #apply(
    event: CreateOrUpdate,
    props: SettingsProperties,
    old: SettingsProperties | undefined,
  ): Promise<Outcome> {
    const name = props.TemplateName;
    const input = desiredInput(props);
    const current = await this.#describe(name);
    if (current === undefined) {
      throw new SettingsError(
        `Provisioning template "${name}" does not exist. Create it first (CfnProvisioningTemplate or the AWS IoT console), then deploy again.`,
        true,
      );
    }
    if (input.preProvisioningHook && current.type !== 'FLEET_PROVISIONING') {
      throw new SettingsError(
        `Provisioning template "${name}" is of type ${current.type}; only FLEET_PROVISIONING templates accept a pre-provisioning hook. Nothing was changed.`,
        true,
      );
    }
    const oldHook = old?.PreProvisioningHook;
    if (!props.PreProvisioningHook && oldHook) {
      if (current.preProvisioningHook?.targetArn === oldHook.TargetArn) {
        input.removePreProvisioningHook = true;
      } else {
        log('hook removed from props, but the template has another hook now; left alone', {
          templateName: name,
          hook: current.preProvisioningHook?.targetArn,
        });
      }
    }
    if (Object.keys(input).length > 1) {
      const roleArn = input.provisioningRoleArn ?? current.provisioningRoleArn;
      // A Create's rollback only needs the hook gone; an Update's rollback writes every setting back.
      const check = event.RequestType === 'Update' || input.preProvisioningHook !== undefined;
      if (check) {
        await this.#reserving(this.config.checkReserveMs, () => this.#update(input, roleArn));
        await this.#confirmStillCurrent(event, input, current, old);
      } else {
        await this.#update(input, roleArn);
      }
    }
    return { physicalResourceId: name, data: { TemplateArn: current.templateArn ?? '' } };
  }

  /**
   * Called after the write of an Update, or of a Create that sets a hook.
   *
   * When another resource fails, CloudFormation cancels a Create or Update
   * that is still running and starts the rollback at once. The rollback's
   * Delete (or Update back) may read the template before this write landed;
   * the write then undoes the rollback's work: a hook stays on a template
   * whose stack deletes the hook function, or the failed deploy's settings
   * stay while the stack says the old ones. So ask CloudFormation whether it
   * still wants this write (see `#staleness`). If not, write what the rollback
   * would have written after this write (see `undoInput`), and fail.
   * A rollback that reads the template after the write undoes it itself; one
   * that read it before was started by a cancellation that this question,
   * asked after the write, sees (as far as CloudFormation's answer is
   * current).
   *
   * When CloudFormation gives no clear answer (an error after the retries,
   * or a status this does not expect), a Create is undone and fails too,
   * which is always safe: its rollback deletes the resource. An Update keeps
   * its write and succeeds, logging why: it may be the rollback itself, and
   * failing a rollback leaves the stack UPDATE_ROLLBACK_FAILED.
   */
  async #confirmStillCurrent(
    event: CreateOrUpdate,
    written: UpdateProvisioningTemplateCommandInput,
    before: Describe,
    old: SettingsProperties | undefined,
  ): Promise<void> {
    const templateName = written.templateName!;
    const doing = event.RequestType === 'Create' ? 'creating' : 'updating';
    let verdict: Verdict;
    try {
      // Half the reserve for the question, the rest for a possible undo.
      verdict = await this.#reserving(this.config.checkReserveMs / 2, () => this.#staleness(event, templateName));
    } catch (e) {
      verdict = { wanted: false, stale: false, why: withoutFinalPeriod(errorMessage(e)) };
    }
    if (verdict.wanted) {
      return;
    }
    const problem = verdict.stale
      ? `Provisioning template "${templateName}": the stack stopped ${doing} this resource while it was being written (${verdict.why})`
      : `Provisioning template "${templateName}": could not confirm that the stack is still ${doing} this resource: ${verdict.why}`;
    if (!verdict.stale && event.RequestType === 'Update') {
      log('kept the write', { problem });
      return;
    }
    const props = event.ResourceProperties as unknown as SettingsProperties;
    if (props.Retained === 'true' && (event.RequestType === 'Create' || verdict.deleting)) {
      // RETAIN: the stack keeps this resource, and its hook's stack everything (checked at synth).
      log('kept the write: the resource is retained', { problem });
      return;
    }
    let undo: UpdateProvisioningTemplateCommandInput | undefined;
    try {
      undo = undoInput(event, written, before, old, verdict.deleting === true);
      log('undoing the write', { problem, undo });
      if (undo) {
        await this.#update(undo);
      }
    } catch (e) {
      throw new SettingsError(
        `${problem}. Undoing the write failed too; the template may keep it: ${errorMessage(e)}`,
        false,
      );
    }
    throw new SettingsError(`${problem}. ${describeUndo(event, undo, old)}`, false);
  }

  /**
   * Whether CloudFormation still wants what this event wrote:
   * - stale, and being deleted: the resource gone from the stack, DELETE_*,
   *   or an Update's UPDATE_COMPLETE in a stack being deleted;
   * - wanted: CREATE_IN_PROGRESS (UPDATE_IN_PROGRESS for an Update); also a
   *   Create's CREATE_COMPLETE or UPDATE_* (the create was accepted), and an
   *   Update's UPDATE_COMPLETE in a stack that is not rolling back: another
   *   delivery of this same event (Lambda delivers at least once) answered
   *   first;
   * - stale: a Create's CREATE_FAILED; an Update's UPDATE_FAILED, or
   *   UPDATE_COMPLETE in a stack that is rolling back;
   * - unsure: any other status.
   */
  async #staleness(event: CreateOrUpdate, templateName: string): Promise<Verdict> {
    const status = await this.#resourceStatus(event, templateName);
    const stale = (why: string, deleting = false): Verdict => ({ wanted: false, stale: true, deleting, why });
    if (status === undefined) {
      return stale('the stack no longer has it', true);
    }
    if (status.startsWith('DELETE_')) {
      return stale(`the resource is now ${status}`, true);
    }
    if (event.RequestType === 'Create') {
      if (status === 'CREATE_FAILED') {
        return stale(`the resource is now ${status}`);
      }
      // CREATE_COMPLETE, UPDATE_*: this create was accepted (another delivery answered first).
      if (status === 'CREATE_IN_PROGRESS' || status === 'CREATE_COMPLETE' || status.startsWith('UPDATE_')) {
        return { wanted: true };
      }
      return { wanted: false, stale: false, why: `the resource is ${status}` };
    }
    if (status === 'UPDATE_IN_PROGRESS') {
      return { wanted: true };
    }
    if (status === 'UPDATE_COMPLETE') {
      const stackStatus = await this.#stackStatus(event, templateName);
      return /ROLLBACK|^DELETE_/.test(stackStatus)
        ? stale(`the resource is now ${status}, the stack ${stackStatus}`, stackStatus.startsWith('DELETE_'))
        : { wanted: true };
    }
    if (status === 'UPDATE_FAILED') {
      return stale(`the resource is now ${status}`);
    }
    return { wanted: false, stale: false, why: `the resource is ${status}` };
  }

  /** This resource's status in its stack, or undefined when the stack no longer has it. */
  async #resourceStatus(event: CreateOrUpdate, templateName: string): Promise<string | undefined> {
    return this.#withRetries(templateName, 'DescribeStackResource', async () => {
      try {
        const out = await this.#send<DescribeStackResourceCommandOutput>(
          cfnClient(this.config),
          new (cfnSdkModule().DescribeStackResourceCommand)({
            StackName: event.StackId,
            LogicalResourceId: event.LogicalResourceId,
          }),
        );
        return out.StackResourceDetail?.ResourceStatus ?? 'UNKNOWN';
      } catch (e) {
        // Caught inside the retried call, as in #describe.
        if (errorName(e) === 'ValidationError' && /does not exist/i.test(errorMessage(e))) {
          return undefined;
        }
        throw e;
      }
    });
  }

  /** The stack's status. */
  async #stackStatus(event: CreateOrUpdate, templateName: string): Promise<string> {
    return this.#withRetries(templateName, 'DescribeStacks', async () => {
      const out = await this.#send<DescribeStacksCommandOutput>(
        cfnClient(this.config),
        new (cfnSdkModule().DescribeStacksCommand)({ StackName: event.StackId }),
      );
      return out.Stacks?.[0]?.StackStatus ?? 'UNKNOWN';
    });
  }

  /**
   * The template is the one the properties name, not the physical id: when a
   * Create is cancelled (another resource failed first) or its answer was
   * lost, CloudFormation sends the Delete with an id it made up. After a
   * rename, the Delete of the old resource carries the old properties.
   */
  async #delete(physicalId: string, props: SettingsProperties): Promise<Outcome> {
    const done = { physicalResourceId: physicalId };
    if (physicalId === CREATE_FAILED_MARKER) {
      log('create had failed without changing anything; nothing to delete', {});
      return done;
    }
    const ours = props.PreProvisioningHook;
    if (!ours) {
      return done;
    }
    const templateName = props.TemplateName;
    const current = await this.#describe(templateName);
    if (current === undefined) {
      log('template no longer exists; nothing to delete', { templateName });
      return done;
    }
    if (current.preProvisioningHook?.targetArn !== ours.TargetArn) {
      log('template has a hook that this resource did not set; left alone', {
        templateName,
        hook: current.preProvisioningHook?.targetArn ?? null,
      });
      return done;
    }
    await this.#update({ templateName, removePreProvisioningHook: true });
    return done;
  }

  /** The template, or undefined when it does not exist. */
  async #describe(templateName: string): Promise<Describe | undefined> {
    return this.#withRetries(templateName, 'DescribeProvisioningTemplate', async () => {
      try {
        return await this.#send<Describe>(
          this.#client,
          new (sdk().DescribeProvisioningTemplateCommand)({ templateName }),
        );
      } catch (e) {
        // Caught inside the retried call: what withRetries gives up on, it wraps in a SettingsError.
        if (errorName(e) === 'ResourceNotFoundException') {
          return undefined;
        }
        throw e;
      }
    });
  }

  /** `roleArn`: the provisioning role the template will have, named if IoT cannot assume it. */
  async #update(input: UpdateProvisioningTemplateCommandInput, roleArn?: string): Promise<void> {
    log('UpdateProvisioningTemplate', { ...input });
    await this.#withRetries(
      input.templateName!,
      'UpdateProvisioningTemplate',
      () => this.#send(this.#client, new (sdk().UpdateProvisioningTemplateCommand)(input), true),
      roleArn,
    );
  }

  /**
   * Send `command` with `client`, cut off at the current phase's deadline,
   * seeing every HTTP attempt, the SDK's own retries included: keep its
   * error, and for a write, note whether it may have been applied (no answer,
   * or a 5xx). The observer runs per attempt, inside the SDK's retry loop.
   * Each attempt of `#withRetries` builds a new command: a command carries its observer.
   */
  #send<T>(
    client: { send(command: never, options: { abortSignal: AbortSignal }): Promise<unknown> },
    command:
      | DescribeProvisioningTemplateCommand
      | UpdateProvisioningTemplateCommand
      | DescribeStackResourceCommand
      | DescribeStacksCommand,
    write = false,
  ): Promise<T> {
    const stack = command.middlewareStack as unknown as {
      add(
        middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>,
        options: { step: 'deserialize'; priority: 'high'; name: string },
      ): void;
    };
    stack.add(
      (next) => async (args) => {
        this.#attemptsSeen++;
        try {
          return await next(args);
        } catch (e) {
          if (errorName(e) !== 'AbortError') {
            this.#lastAttemptError = e;
          }
          if (write && mayHaveLanded(e)) {
            this.#writeMayHaveLanded = true;
          }
          throw e;
        }
      },
      { step: 'deserialize', priority: 'high', name: 'settingsObserveAttempt' },
    );
    return client.send(command as never, { abortSignal: this.#phase.signal }) as Promise<T>;
  }

  /**
   * Run one IoT call. The SDK already retries throttling, 5xx and network
   * errors; on top of that this retries, until the deadline, what the SDK
   * gave up on and what it never retries: ConflictingResourceUpdateException,
   * and (for `rolePropagationMs`) a role IoT cannot assume yet or an access
   * denial while IAM applies the handler's new policy.
   */
  async #withRetries<T>(templateName: string, operation: string, call: () => Promise<T>, roleArn?: string): Promise<T> {
    const started = Date.now();
    this.#lastAttemptError = undefined;
    this.#attemptsSeen = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        const elapsed = Date.now() - started;
        const aborted = this.#phase.signal.aborted;
        const retry = aborted ? false : retryable(e, elapsed, this.config);
        const delay = backoff(attempt, this.config);
        const outOfTime = aborted || (retry && Date.now() + delay >= this.#phase.deadline);
        if (!retry || outOfTime) {
          // The deadline's abort cuts the SDK off mid-call: report the last error IoT gave, not the abort.
          const reported = aborted && this.#lastAttemptError !== undefined ? this.#lastAttemptError : e;
          const attempts = Math.max(attempt, this.#attemptsSeen);
          throw new SettingsError(
            failureMessage(templateName, operation, reported, attempts, elapsed, outOfTime, roleArn),
            !this.#writeMayHaveChanged(e, operation),
          );
        }
        log('retrying', { templateName, operation, attempt, error: errorName(e), delayMs: delay });
        await sleep(delay);
      }
    }
  }

  /**
   * Whether the failed call may have changed the template. The attempts seen
   * on the wire tell (an abort while the SDK waits between attempts sent
   * nothing); without any seen, the final error does.
   */
  #writeMayHaveChanged(e: unknown, operation: string): boolean {
    if (operation !== 'UpdateProvisioningTemplate') return false;
    return this.#writeMayHaveLanded || (errorName(e) !== 'AbortError' && mayHaveLanded(e));
  }
}

/** The UpdateProvisioningTemplate input for the desired state: only the fields given. */
function desiredInput(props: SettingsProperties): UpdateProvisioningTemplateCommandInput {
  const input: UpdateProvisioningTemplateCommandInput = { templateName: props.TemplateName };
  if (props.Description !== undefined) {
    input.description = props.Description;
  }
  if (props.Enabled !== undefined) {
    input.enabled = parseBoolean(props.Enabled);
  }
  if (props.DefaultVersionId !== undefined) {
    input.defaultVersionId = parseVersion(props.DefaultVersionId);
  }
  if (props.ProvisioningRoleArn !== undefined) {
    input.provisioningRoleArn = props.ProvisioningRoleArn;
  }
  if (props.PreProvisioningHook !== undefined) {
    input.preProvisioningHook = hookInput(props.PreProvisioningHook);
  }
  return input;
}

function hookInput(hook: HookProperties) {
  return { targetArn: hook.TargetArn, payloadVersion: hook.PayloadVersion };
}

/**
 * The write a rollback would have made had it run after `written`, or
 * undefined when there is nothing to write:
 * - a Create: our hook off the template (as the rollback's Delete does), and
 *   the hook of someone else's that it replaced back on;
 * - an Update whose resource or stack is being deleted: our hook off (as the
 *   Delete does);
 * - an Update of the same template: the old properties' settings, as the
 *   rollback's Update writes them (our hook off if they had none);
 * - an Update that renamed the template: the rollback's Update writes the old
 *   template only, so the settings written go back to what the new one had
 *   before (our hook off, someone else's back on), except the provisioning
 *   role, which the handler may not pass.
 */
function undoInput(
  event: CreateOrUpdate,
  written: UpdateProvisioningTemplateCommandInput,
  before: Describe,
  old: SettingsProperties | undefined,
  deleting: boolean,
): UpdateProvisioningTemplateCommandInput | undefined {
  const templateName = written.templateName;
  const previous = before.preProvisioningHook;
  const ours = written.preProvisioningHook?.targetArn;
  const hookBack: UpdateProvisioningTemplateCommandInput =
    previous?.targetArn && previous.targetArn !== ours
      ? {
          templateName,
          preProvisioningHook: { targetArn: previous.targetArn, payloadVersion: previous.payloadVersion },
        }
      : { templateName, removePreProvisioningHook: true };
  if (event.RequestType === 'Create') {
    return hookBack;
  }
  if (deleting) {
    return written.preProvisioningHook ? { templateName, removePreProvisioningHook: true } : undefined;
  }
  const undo: UpdateProvisioningTemplateCommandInput = old ? desiredInput(old) : { templateName };
  if (old) {
    if (!old.PreProvisioningHook && written.preProvisioningHook) {
      undo.removePreProvisioningHook = true;
    }
  } else {
    if (written.description !== undefined) undo.description = before.description ?? '';
    // Not the provisioning role: the handler may pass only its stack's roles.
    for (const setting of ['enabled', 'defaultVersionId'] as const) {
      if (written[setting] !== undefined && before[setting] !== undefined) {
        Object.assign(undo, { [setting]: before[setting] });
      }
    }
    if (written.preProvisioningHook !== undefined || written.removePreProvisioningHook) {
      Object.assign(undo, hookBack);
    }
  }
  return Object.keys(undo).length > 1 ? undo : undefined;
}

/** What `undo` did, for the reason CloudFormation shows. */
function describeUndo(
  event: CreateOrUpdate,
  undo: UpdateProvisioningTemplateCommandInput | undefined,
  old: SettingsProperties | undefined,
): string {
  if (!undo) {
    return 'Nothing it wrote needed undoing.';
  }
  if (undo.preProvisioningHook && event.RequestType === 'Create') {
    return `The hook it replaced, ${undo.preProvisioningHook.targetArn}, was put back.`;
  }
  if (event.RequestType === 'Create' || (undo.removePreProvisioningHook && Object.keys(undo).length === 2)) {
    return 'The hook it set was removed again.';
  }
  return old ? 'The old settings were written back.' : 'The renamed template was set back as it was.';
}

function withoutFinalPeriod(text: string): string {
  return text.endsWith('.') ? text.slice(0, -1) : text;
}

function parseBoolean(value: string | boolean): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new SettingsError(`Enabled must be "true" or "false"; got ${JSON.stringify(value)}.`, true);
}

function parseVersion(value: string | number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new SettingsError(`DefaultVersionId must be a positive whole number; got ${JSON.stringify(value)}.`, true);
  }
  return n;
}

const ROLE_NOT_ASSUMABLE = /role.*(cannot|could not|can ?not|unable to).*assume|assume.*role/i;

/** IoT's answer when it cannot assume the provisioning role (yet): an InvalidRequestException that says so. */
function roleNotAssumable(e: unknown): boolean {
  return errorName(e) === 'InvalidRequestException' && ROLE_NOT_ASSUMABLE.test(errorMessage(e));
}

function retryable(e: unknown, elapsedMs: number, config: HandlerConfig): boolean {
  const name = errorName(e);
  if (name === 'InvalidRequestException') {
    return roleNotAssumable(e) && elapsedMs < config.rolePropagationMs;
  }
  // The handler's own policy is replaced when templates or roles change, just
  // before the custom resources that need it: IAM may take seconds to apply it.
  // (CloudFormation's own codes are AccessDenied and Throttling.)
  if (name === 'AccessDeniedException' || name === 'UnauthorizedException' || name === 'AccessDenied') {
    return elapsedMs < config.rolePropagationMs;
  }
  if (
    name === 'ConflictingResourceUpdateException' ||
    name === 'ThrottlingException' ||
    name === 'Throttling' ||
    name === 'TooManyRequestsException'
  ) {
    return true;
  }
  const status = httpStatus(e);
  if (status === 429 || (status !== undefined && status >= 500)) {
    return true;
  }
  // No HTTP answer at all: connection refused or reset, request timed out.
  return status === undefined && isNetworkError(e);
}

const NETWORK_ERROR_CODES = [
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
];

/**
 * An error of the network, not of the handler: the SDK puts $metadata on
 * what it sent (after its own retries), names its timeouts TimeoutError, and
 * Node gives socket errors a code. Anything else (a TypeError, say) is a bug,
 * and retrying it only delays the FAILED answer.
 */
function isNetworkError(e: unknown): boolean {
  const err = e as { $metadata?: unknown; name?: string; code?: string } | undefined;
  return err?.$metadata !== undefined || err?.name === 'TimeoutError' || NETWORK_ERROR_CODES.includes(err?.code ?? '');
}

/**
 * Whether a failed write attempt may have been applied by IoT: no HTTP
 * answer (timeout, reset, abort mid-request), or a 5xx. A refused
 * connection sent nothing.
 */
function mayHaveLanded(e: unknown): boolean {
  if ((e as { code?: string } | undefined)?.code === 'ECONNREFUSED') return false;
  const status = httpStatus(e);
  return status === undefined || status >= 500;
}

function backoff(attempt: number, config: HandlerConfig): number {
  const ceiling = Math.min(config.retryMaxDelayMs, config.retryBaseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

function failureMessage(
  templateName: string,
  operation: string,
  e: unknown,
  attempts: number,
  elapsedMs: number,
  timedOut: boolean,
  roleArn?: string,
): string {
  const cause = `${errorName(e)}: ${errorMessage(e)}`;
  const tries = attempts > 1 ? ` after ${attempts} attempts over ${Math.round(elapsedMs / 1000)}s` : '';
  const prefix = `${operation} on provisioning template "${templateName}" failed${tries}`;
  if (roleNotAssumable(e)) {
    const role = roleArn ? ` ${roleArn}` : '';
    const end = timedOut ? " Gave up before the handler's timeout." : '';
    return `${prefix}: AWS IoT cannot assume the provisioning role${role} (an IAM role needs a trust policy for iot.amazonaws.com, and a new role can take a minute to propagate). ${cause}${end}`;
  }
  if (timedOut && errorName(e) === 'AbortError') {
    const service = operation.startsWith('DescribeStack') ? 'CloudFormation' : 'AWS IoT';
    return `${prefix}: gave up before the handler's timeout, with no answer from ${service} in time.`;
  }
  if (timedOut) {
    return `${prefix}: gave up before the handler's timeout (last error ${cause}).`;
  }
  return `${prefix}: ${cause}`;
}

function errorName(e: unknown): string {
  return (e as { name?: string } | undefined)?.name ?? 'Error';
}

function errorMessage(e: unknown): string {
  return (e as { message?: string } | undefined)?.message ?? String(e);
}

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function log(message: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ message, ...fields }));
}

/** CloudFormation's answer is at most 4 KB; keep the reason well inside. */
const MAX_REASON = 2_000;

/** Send the answer to CloudFormation's pre-signed URL, retrying until `deadline`. */
async function respond(
  event: CloudFormationCustomResourceEvent,
  response: CloudFormationCustomResourceResponse,
  config: HandlerConfig,
  deadline: number,
): Promise<void> {
  const body = JSON.stringify(response);
  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - Date.now();
    try {
      const res = await fetch(event.ResponseURL, {
        method: 'PUT',
        body,
        headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
        signal: AbortSignal.timeout(Math.max(1_000, Math.min(10_000, remaining))),
      });
      if (res.ok) {
        log('answered CloudFormation', { status: response.Status, attempt });
        return;
      }
      throw new Error(`HTTP ${res.status}`);
    } catch (e) {
      const delay = backoff(attempt, config);
      if (attempt >= config.responseAttempts || Date.now() + delay >= deadline) {
        log('could not answer CloudFormation; it will time out the resource', { attempt, error: errorMessage(e) });
        return;
      }
      log('answer to CloudFormation failed; retrying', { attempt, error: errorMessage(e), delayMs: delay });
      await sleep(delay);
    }
  }
}

export async function handler(event: CloudFormationCustomResourceEvent, context: Context): Promise<void> {
  const config = configFromEnv();
  const lambdaDeadline = Date.now() + context.getRemainingTimeInMillis();
  const workDeadline = lambdaDeadline - config.responseReserveMs;
  const { ResponseURL: _hidden, ...loggable } = event;
  log('event', loggable);

  const props = event.ResourceProperties as unknown as SettingsProperties;
  const base = {
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  let response: CloudFormationCustomResourceResponse;
  let invocation: Invocation | undefined;
  try {
    // Inside the try: loading the SDK or configuring its client can fail too, and must still answer.
    invocation = new Invocation(config, workDeadline);
    const outcome = await invocation.run(event);
    response = { ...base, Status: 'SUCCESS', PhysicalResourceId: outcome.physicalResourceId, Data: outcome.data };
  } catch (e) {
    const reason =
      e instanceof SettingsError
        ? e.message
        : `Provisioning template "${props.TemplateName}": ${errorName(e)}: ${errorMessage(e)}`;
    log('failed', { reason });
    response = {
      ...base,
      Status: 'FAILED',
      Reason: reason.slice(0, MAX_REASON),
      PhysicalResourceId: failedPhysicalId(event, props.TemplateName, e),
    };
  } finally {
    invocation?.dispose();
  }
  await respond(event, response, config, lambdaDeadline - 1_000);
}

/**
 * A failed Create that certainly changed nothing gets a marker id, so the
 * Delete of the rollback does nothing. If the write's outcome is unknown,
 * the template name is kept: the Delete then removes our hook if it landed.
 * Update and Delete keep the id they had, so CloudFormation never sees a new one.
 */
function failedPhysicalId(event: CloudFormationCustomResourceEvent, templateName: string, e: unknown): string {
  if (event.RequestType !== 'Create') {
    return event.PhysicalResourceId;
  }
  const changedNothing = !(e instanceof SettingsError) || e.changedNothing;
  return changedNothing ? CREATE_FAILED_MARKER : templateName;
}
