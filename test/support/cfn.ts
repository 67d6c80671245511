/**
 * CloudFormation's side of the custom resource, for tests over the wire:
 * a harness (using the shared event builders of ./events) that drives the
 * BUNDLED handler (assets/handler/index.js, built by `npm run build`) against
 * FakeIot and FakeCloudFormation.
 *
 * The handler reaches the fakes the way it reaches AWS: the SDK's standard
 * configuration (AWS_ENDPOINT_URL_IOT, dummy credentials, AWS_REGION) and the
 * event's ResponseURL. Environment changes are made in beforeAll and undone
 * in afterAll; `withEnv` scopes further changes to one block.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceUpdateEvent,
  Context,
} from 'aws-lambda';
import { CREATE_FAILED_MARKER, desiredWrite, SettingsProperties } from '../../lib/handler-contract';
import { createEvent, deleteEvent, lambdaContext, updateEvent } from './events';
import { ApiRequest, FakeCloudFormationApi } from './fake-cfn-api';
import { CloudFormationResponseBody, FakeCloudFormation, ReceivedResponse } from './fake-cfn-responses';
import { ACCOUNT, FakeIot, REGION, RecordedRequest, TemplateState } from './fake-iot';

export { CREATE_FAILED_MARKER };

const ROOT = path.join(__dirname, '..', '..');
export const BUNDLE = path.join(ROOT, 'assets', 'handler', 'index.js');
/** What the bundle is built from: the handler's modules, and the lib/ modules they import. */
const HANDLER_SOURCES = [
  ...fs.readdirSync(path.join(ROOT, 'lambda')).map((file) => path.join(ROOT, 'lambda', file)),
  path.join(ROOT, 'lib', 'handler-contract.ts'),
  path.join(ROOT, 'lib', 'timing.ts'),
];

export const SERVICE_TOKEN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:wire-test-SettingsHandler`;

export type Handler = (event: CloudFormationCustomResourceEvent, context: Context) => Promise<void>;

function assertBundleFresh(): void {
  if (!fs.existsSync(BUNDLE)) {
    throw new Error(`${BUNDLE} is missing: run \`npm run build\` first.`);
  }
  const stale = HANDLER_SOURCES.filter((source) => fs.statSync(BUNDLE).mtimeMs < fs.statSync(source).mtimeMs);
  if (stale.length > 0) {
    throw new Error(`${BUNDLE} is older than ${stale.join(', ')}: run \`npm run build\` first.`);
  }
}

/** The bundled handler, as Lambda loads it (one module instance: one warm sandbox). */
export function bundledHandler(): Handler {
  assertBundleFresh();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(BUNDLE) as { handler: Handler }).handler;
}

/**
 * A new instance of the bundled handler module: its own IoT client. What a separate Lambda sandbox has, as CloudFormation's
 * parallel custom resources get when Lambda scales out.
 * (@aws-sdk/* stays shared, as it is external to the bundle.)
 */
export function freshBundledHandler(): Handler {
  assertBundleFresh();
  const source = fs.readFileSync(BUNDLE, 'utf8');
  const module = { exports: {} as { handler?: Handler } };
  // Evaluated in the test's realm, so the handler uses the same globals (console, fetch) as a require would.
  const load = new Function('exports', 'require', 'module', '__filename', '__dirname', source);
  load(module.exports, require, module, BUNDLE, path.dirname(BUNDLE));
  return module.exports.handler!;
}

/** Settings properties as CloudFormation hands them over: every scalar a string. */
export function settings(
  props: Omit<SettingsProperties, 'ServiceToken'> & Partial<SettingsProperties>,
): SettingsProperties {
  return { ServiceToken: SERVICE_TOKEN, ...props };
}

/** Set environment variables (undefined: unset); returns the function that restores them. */
export function setEnv(vars: Record<string, string | undefined>): () => void {
  const saved: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(vars)) {
    saved[key] = process.env[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  return () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

/** Run `fn` with `vars` set, then restore them. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const restore = setEnv(vars);
  try {
    return await fn();
  } finally {
    restore();
  }
}

/** The SDK's standard configuration, pointed at the fakes; nothing read from the machine's AWS setup. */
export function awsEnv(iot: FakeIot, cfnApi: FakeCloudFormationApi): Record<string, string | undefined> {
  return {
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'AKIAWIRETESTDUMMYKEY',
    AWS_SECRET_ACCESS_KEY: 'wire-test-dummy-secret',
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: path.join(ROOT, 'test', 'support', 'no-such-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(ROOT, 'test', 'support', 'no-such-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
    AWS_MAX_ATTEMPTS: undefined,
    AWS_RETRY_MODE: undefined,
    AWS_ENDPOINT_URL_IOT: iot.endpoint,
    AWS_ENDPOINT_URL_CLOUDFORMATION: cfnApi.endpoint,
  };
}

/**
 * The handler's tunables, shrunk so a test takes seconds: CloudFormation and
 * IoT behave the same, only the handler's own waits are shorter. The SDK's
 * retry strategy is the real one (its throttling backoff is not shortened).
 */
export const FAST_SETTINGS: Record<string, string> = {
  SETTINGS_RESPONSE_RESERVE_MS: '1500',
  SETTINGS_RETRY_BASE_DELAY_MS: '20',
  SETTINGS_RETRY_MAX_DELAY_MS: '200',
  SETTINGS_ROLE_PROPAGATION_MS: '1500',
  SETTINGS_REQUEST_TIMEOUT_MS: '1000',
  SETTINGS_RESPONSE_ATTEMPTS: '6',
  SETTINGS_CHECK_RESERVE_MS: '300',
};

/** One JSON line the handler logged. */
export interface LogLine {
  readonly message?: string;
  readonly [key: string]: unknown;
}

export interface InvokeOptions {
  /** The fake Lambda's timeout: what getRemainingTimeInMillis counts down from. */
  readonly timeoutMs?: number;
  /** Another handler instance (default: the test's sandbox, `harness.handler`). */
  readonly handler?: Handler;
  /**
   * CloudFormation has moved on (a redelivery after it took the first
   * answer, or a cancelled event): the resource's status is left as the
   * test set it, and the answer changes nothing.
   */
  readonly ignored?: boolean;
}

/** What one drift check did (WireHarness.checkDrift). */
export interface DriftCheckRun {
  readonly logs: LogLine[];
  /** The embedded-metric-format lines, parsed. */
  readonly metrics: Array<Record<string, unknown>>;
  readonly iotRequests: FakeIot['requests'];
  readonly error: unknown;
}

export interface Invocation {
  readonly event: CloudFormationCustomResourceEvent;
  /** The answer CloudFormation accepted from this delivery (undefined if none reached it). */
  readonly response: CloudFormationResponseBody | undefined;
  /** Every response PUT for this event, failed ones included. */
  readonly puts: ReceivedResponse[];
  /** IoT requests made while this invocation ran (all templates: do not use with parallel invocations). */
  readonly iotRequests: RecordedRequest[];
  /** CloudFormation API requests made while this invocation ran (same caveat). */
  readonly cfnRequests: ApiRequest[];
  /** The handler promise settled before the fake Lambda timeout. */
  readonly finishedInTime: boolean;
  /** The handler promise rejected (Lambda would report an error; CloudFormation would get no answer from it). */
  readonly threw: unknown;
  /** Date.now() when the fake Lambda would kill the invocation. */
  readonly lambdaDeadline: number;
}

/** The fakes, the environment, and helpers to send events; registers its own jest hooks. */
export class WireHarness {
  iot!: FakeIot;
  cfn!: FakeCloudFormation;
  cfnApi!: FakeCloudFormationApi;
  readonly logs: LogLine[] = [];
  private readonly logListeners: Array<(line: LogLine) => void> = [];
  private restoreEnv: (() => void) | undefined;
  private sandbox: Handler | undefined;
  private source = false;
  private readonly spies: jest.SpyInstance[] = [];

  /**
   * Call at the top of a describe block (or file). `source`: drive the
   * handler's TypeScript modules instead of the bundle (one module instance
   * for the file), so that coverage counts them.
   */
  static install(settingsEnv: Record<string, string> = FAST_SETTINGS, source = false): WireHarness {
    const harness = new WireHarness();
    harness.source = source;
    beforeAll(async () => {
      harness.iot = await FakeIot.start();
      harness.cfn = await FakeCloudFormation.start();
      harness.cfnApi = await FakeCloudFormationApi.start();
      harness.restoreEnv = setEnv({ ...awsEnv(harness.iot, harness.cfnApi), ...settingsEnv });
      harness.captureConsole();
    });
    beforeEach(() => {
      harness.iot.reset();
      harness.cfn.reset();
      harness.cfnApi.reset();
      harness.logs.length = 0;
      harness.logListeners.length = 0;
      harness.sandbox = undefined;
    });
    afterAll(async () => {
      for (const spy of harness.spies) spy.mockRestore();
      harness.restoreEnv?.();
      await harness.iot?.close();
      await harness.cfn?.close();
      await harness.cfnApi?.close();
    });
    return harness;
  }

  /** The handler logs JSON lines: keep them (for assertions) instead of printing them. */
  private captureConsole(): void {
    for (const method of ['log', 'info', 'warn', 'error'] as const) {
      this.spies.push(
        jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
          const text = args
            .map((a) =>
              typeof a === 'string' ? a : a instanceof Error ? `${a.name}: ${a.message}` : JSON.stringify(a),
            )
            .join(' ');
          let line: LogLine;
          try {
            const parsed = JSON.parse(text);
            line =
              typeof parsed === 'object' && parsed !== null
                ? { level: method, ...parsed }
                : { level: method, message: text };
          } catch {
            line = { level: method, message: text };
          }
          this.logs.push(line);
          for (const listener of [...this.logListeners]) listener(line);
        }),
      );
    }
  }

  /** Call `fn` (once) on the first log line that matches. */
  onLog(match: (line: LogLine) => boolean, fn: (line: LogLine) => void): void {
    const listener = (line: LogLine) => {
      if (match(line)) {
        this.logListeners.splice(this.logListeners.indexOf(listener), 1);
        fn(line);
      }
    };
    this.logListeners.push(listener);
  }

  /**
   * How many times the handler itself retried an IoT call (its 'retrying' log
   * lines). Requests beyond those calls are the SDK's own retries.
   */
  handlerRetries(operation?: 'DescribeProvisioningTemplate' | 'UpdateProvisioningTemplate'): number {
    return this.logs.filter((l) => l.message === 'retrying' && (operation === undefined || l.operation === operation))
      .length;
  }

  readonly responseUrl = (requestId: string): string => this.cfn.responseUrl(requestId);

  /**
   * The handler events go to by default: one instance of the bundled module
   * per test, reused by every event of the test (one warm Lambda sandbox).
   * A new instance per test keeps tests independent: each has its own
   * cached clients.
   */
  get handler(): Handler {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    this.sandbox ??= this.source ? (require('../../lambda') as { handler: Handler }).handler : freshBundledHandler();
    return this.sandbox;
  }

  createEvent(props: SettingsProperties, logicalId?: string): CloudFormationCustomResourceCreateEvent {
    return createEvent(props, this.responseUrl, logicalId);
  }

  updateEvent(
    physicalId: string,
    props: SettingsProperties,
    oldProps: SettingsProperties,
    logicalId?: string,
  ): CloudFormationCustomResourceUpdateEvent {
    return updateEvent(physicalId, props, oldProps, this.responseUrl, logicalId);
  }

  deleteEvent(
    physicalId: string,
    props: SettingsProperties,
    logicalId?: string,
  ): CloudFormationCustomResourceDeleteEvent {
    return deleteEvent(physicalId, props, this.responseUrl, logicalId);
  }

  /**
   * Deliver `event` to the handler as Lambda would, and collect what
   * CloudFormation and IoT saw. Like CloudFormation, the fake marks the
   * resource CREATE_IN_PROGRESS (UPDATE_, DELETE_) while the event runs, and
   * COMPLETE or FAILED from the answer; unless the test changed the status
   * meanwhile (a cancellation), which the answer then does not overwrite, or
   * the delivery is `ignored` (CloudFormation has moved on).
   */
  async send(event: CloudFormationCustomResourceEvent, options: InvokeOptions = {}): Promise<Invocation> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const handler = options.handler ?? this.handler;
    const firstRequest = this.iot.requests.length;
    const firstApiRequest = this.cfnApi.requests.length;
    const firstPut = this.cfn.received.length;
    const operation = event.RequestType.toUpperCase();
    const { LogicalResourceId: logicalId, StackId: stackId } = event;
    if (!options.ignored) this.cfnApi.setStatus(logicalId, `${operation}_IN_PROGRESS`, stackId);
    const context = lambdaContext(timeoutMs);
    const lambdaDeadline = Date.now() + context.getRemainingTimeInMillis();
    let threw: unknown;
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<'killed'>((resolve) => {
      timer = setTimeout(() => resolve('killed'), timeoutMs);
    });
    const run = handler(event, context).then(
      () => 'done' as const,
      (e: unknown) => {
        threw = e ?? new Error('rejected');
        return 'done' as const;
      },
    );
    const result = await Promise.race([run, killed]);
    clearTimeout(timer);
    // Only this delivery's PUTs: a redelivered event has the same RequestId.
    const puts = this.cfn.received.slice(firstPut).filter((r) => r.body.RequestId === event.RequestId);
    const response = puts.filter((p) => p.accepted).at(-1)?.body;
    if (!options.ignored && response?.Status === 'SUCCESS')
      this.cfnApi.physicalIds.set(event.LogicalResourceId, response.PhysicalResourceId);
    if (!options.ignored && response && this.cfnApi.status(logicalId, stackId) === `${operation}_IN_PROGRESS`) {
      this.cfnApi.setStatus(
        logicalId,
        `${operation}_${response.Status === 'SUCCESS' ? 'COMPLETE' : 'FAILED'}`,
        stackId,
      );
    }
    return {
      event,
      response,
      puts,
      iotRequests: this.iot.requests.slice(firstRequest),
      cfnRequests: this.cfnApi.requests.slice(firstApiRequest),
      finishedInTime: result === 'done',
      threw,
      lambdaDeadline,
    };
  }

  /**
   * Invoke the handler as the drift check's schedule does, for the stack
   * `stackId`: what it logged, the metric lines it wrote to stdout, the IoT
   * calls it made, and the error it ended with, if any.
   */
  async checkDrift(stackId: string): Promise<DriftCheckRun> {
    const firstRequest = this.iot.requests.length;
    const firstLog = this.logs.length;
    const metrics: Array<Record<string, unknown>> = [];
    const write = process.stdout.write.bind(process.stdout);
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      const text = String(chunk);
      if (text.startsWith('{"_aws"')) metrics.push(JSON.parse(text) as Record<string, unknown>);
      else write(chunk);
      return true;
    });
    let error: unknown;
    try {
      await (this.handler as unknown as (e: object, c: Context) => Promise<void>)(
        { driftCheck: stackId },
        lambdaContext(30_000),
      );
    } catch (e) {
      error = e;
    } finally {
      spy.mockRestore();
    }
    return { logs: this.logs.slice(firstLog), metrics, iotRequests: this.iot.requests.slice(firstRequest), error };
  }

  create(props: SettingsProperties, options?: InvokeOptions): Promise<Invocation> {
    return this.send(this.createEvent(props), options);
  }

  update(
    physicalId: string,
    props: SettingsProperties,
    oldProps: SettingsProperties,
    options?: InvokeOptions,
  ): Promise<Invocation> {
    return this.send(this.updateEvent(physicalId, props, oldProps), options);
  }

  delete(physicalId: string, props: SettingsProperties, options?: InvokeOptions): Promise<Invocation> {
    return this.send(this.deleteEvent(physicalId, props), options);
  }
}

// ---------------------------------------------------------------------------
// Assertions shared by the wire tests: what a template may look like after an
// event, and what the handler may send to IoT and CloudFormation for one event.
// ---------------------------------------------------------------------------

/** The template state `props` asks for, starting from `before`: only the fields given change. */
export function asked(before: TemplateState, props: SettingsProperties): TemplateState {
  // Every setting the properties manage, parsed as SETTINGS says (lib/handler-contract.ts).
  const { templateName: _name, ...written } = desiredWrite(props);
  return { ...structuredClone(before), ...written } as TemplateState;
}

/** `request` for one template only. */
export function forTemplate(requests: readonly RecordedRequest[], templateName: string): RecordedRequest[] {
  return requests.filter((r) => r.templateName === templateName);
}

/**
 * One read, then one write, as seen on the wire: every GET comes before
 * every PATCH (no read-after-write, no second write phase), and every PATCH
 * carries the same complete input (retries of one UpdateProvisioningTemplate
 * call, never a sequence of partial writes).
 */
export function expectOneReadThenOneWrite(requests: readonly RecordedRequest[]): void {
  const methods = requests.map((r) => r.method);
  expect(methods.every((m) => m === 'GET' || m === 'PATCH')).toBe(true);
  const firstPatch = methods.indexOf('PATCH');
  if (firstPatch >= 0) {
    expect(methods.slice(firstPatch)).toEqual(methods.slice(firstPatch).map(() => 'PATCH'));
  }
  const bodies = new Set(requests.filter((r) => r.method === 'PATCH').map((r) => JSON.stringify(r.body)));
  expect(bodies.size).toBeLessThanOrEqual(1);
}

/** Without faults: at most one GET and one PATCH for the event. */
export function expectAtMostTwoCalls(requests: readonly RecordedRequest[]): void {
  expect(requests.filter((r) => r.method === 'GET').length).toBeLessThanOrEqual(1);
  expect(requests.filter((r) => r.method === 'PATCH').length).toBeLessThanOrEqual(1);
  expectOneReadThenOneWrite(requests);
}

/** After a failure: the template is exactly as it was, or exactly as asked. */
export function expectBeforeOrAsked(
  iot: FakeIot,
  before: TemplateState,
  props: SettingsProperties,
): 'before' | 'asked' {
  const now = iot.template(before.templateName);
  const wanted = asked(before, props);
  if (JSON.stringify(now) === JSON.stringify(before)) return 'before';
  expect(now).toEqual(wanted);
  return 'asked';
}

/** The handler ran to completion before the fake Lambda timeout, and CloudFormation got its answer in time. */
export function expectAnsweredInTime(invocation: Invocation): void {
  expect(invocation.threw).toBeUndefined();
  expect(invocation.finishedInTime).toBe(true);
  expect(invocation.response).toBeDefined();
  const accepted = invocation.puts.filter((p) => p.accepted);
  expect(accepted).toHaveLength(1);
  expect(accepted[0].at).toBeLessThanOrEqual(invocation.lambdaDeadline);
}

export function expectSuccess(invocation: Invocation, physicalId: string): void {
  expectAnsweredInTime(invocation);
  expect(invocation.response).toMatchObject({
    Status: 'SUCCESS',
    PhysicalResourceId: physicalId,
    StackId: invocation.event.StackId,
    RequestId: invocation.event.RequestId,
    LogicalResourceId: invocation.event.LogicalResourceId,
  });
}

export function expectFailed(invocation: Invocation, physicalId: string): string {
  expectAnsweredInTime(invocation);
  expect(invocation.response).toMatchObject({
    Status: 'FAILED',
    PhysicalResourceId: physicalId,
    StackId: invocation.event.StackId,
    RequestId: invocation.event.RequestId,
    LogicalResourceId: invocation.event.LogicalResourceId,
  });
  const reason = invocation.response!.Reason ?? '';
  expect(reason.length).toBeGreaterThan(0);
  return reason;
}
