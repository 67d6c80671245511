/**
 * Local stand-ins for the services the handler talks to, over real HTTP
 * on 127.0.0.1 (random ports):
 *
 * - FakeIot speaks the AWS IoT REST-JSON wire protocol for the two calls the
 *   handler makes: DescribeProvisioningTemplate (GET) and
 *   UpdateProvisioningTemplate (PATCH) on /provisioning-templates/{name}.
 *   It keeps template state in memory, records every request, and can be
 *   scripted to inject faults (errors, delays, dropped connections) and to
 *   throttle above a request rate.
 * - FakeCloudFormation receives the handler's response PUT (what
 *   CloudFormation would read from the pre-signed S3 URL), records it, and can
 *   be scripted to fail the PUT or to stop listening (connection refused).
 * - FakeCloudFormationApi answers the CloudFormation API calls the handler
 *   makes, DescribeStackResource and DescribeStacks (AWS query protocol: a
 *   form-encoded POST, an XML answer), from the resource statuses the test
 *   harness keeps and a stack status the test sets, and can be scripted to
 *   fail them or to throttle above a request rate.
 *
 * Errors follow what @aws-sdk/client-iot parses (AwsRestJsonProtocol): the
 * error code from the `x-amzn-ErrorType` header (anything after ':' is
 * dropped), the message from the JSON body's `message`.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';

export type TemplateType = 'FLEET_PROVISIONING' | 'JITP';

export interface Hook {
  readonly targetArn: string;
  readonly payloadVersion: string;
}

/** What the fake knows about one provisioning template. */
export interface TemplateState {
  readonly templateName: string;
  readonly templateArn: string;
  readonly type: TemplateType;
  readonly enabled: boolean;
  readonly description?: string;
  readonly defaultVersionId: number;
  /** Versions that exist; `defaultVersionId` must be one of them. */
  readonly versionIds: readonly number[];
  readonly provisioningRoleArn: string;
  readonly preProvisioningHook?: Hook;
}

export interface TemplateSeed {
  readonly type?: TemplateType;
  readonly enabled?: boolean;
  readonly description?: string;
  readonly defaultVersionId?: number;
  readonly versionIds?: readonly number[];
  readonly provisioningRoleArn?: string;
  readonly preProvisioningHook?: Hook;
}

export function templateArn(name: string): string {
  return `arn:aws:iot:${REGION}:${ACCOUNT}:provisioningtemplate/${name}`;
}

export function roleArn(name: string): string {
  return `arn:aws:iam::${ACCOUNT}:role/${name}`;
}

export function functionArn(name: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
}

/**
 * A scripted answer to one request, instead of the normal one.
 * With neither `status` nor `drop`, the request is answered normally after `delayMs`.
 */
export interface Fault {
  /** Only requests with this method take the fault; default: any. */
  readonly method?: 'GET' | 'PATCH' | 'PUT';
  /** HTTP status of the error answer. */
  readonly status?: number;
  /** `x-amzn-ErrorType`; without it, the error answer has no error code (e.g. a bare 429 or 500). */
  readonly errorType?: string;
  readonly message?: string;
  /** Wait this long before answering (or dropping). */
  readonly delayMs?: number;
  /** Wait until this settles before answering (or dropping): a latch the test releases. */
  readonly until?: Promise<unknown>;
  /** Destroy the connection instead of answering. */
  readonly drop?: boolean;
  /** PATCH only: apply the write first, then take the fault (the client cannot know it landed). */
  readonly applyFirst?: boolean;
}

/** Faults as AWS IoT sends them. */
export const faults = {
  throttling: (): Fault => ({ status: 400, errorType: 'ThrottlingException', message: 'Rate exceeded' }),
  tooManyRequests: (): Fault => ({ status: 429, message: 'Too Many Requests' }),
  conflict: (): Fault => ({
    method: 'PATCH',
    status: 409,
    errorType: 'ConflictingResourceUpdateException',
    message: 'A conflicting resource update is in progress.',
  }),
  roleNotAssumable: (): Fault => ({
    method: 'PATCH',
    status: 400,
    errorType: 'InvalidRequestException',
    message: 'The provisioning role cannot be assumed by AWS IoT.',
  }),
  internalFailure: (): Fault => ({
    status: 500,
    errorType: 'InternalFailureException',
    message: 'An unexpected error has occurred.',
  }),
  serviceUnavailable: (): Fault => ({
    status: 503,
    errorType: 'ServiceUnavailableException',
    message: 'Service unavailable.',
  }),
  tooManyRequestsException: (): Fault => ({
    status: 429,
    errorType: 'TooManyRequestsException',
    message: 'Too many requests.',
  }),
  badGateway: (): Fault => ({ status: 502, message: 'Bad Gateway' }),
  gatewayTimeout: (): Fault => ({ status: 504, message: 'Gateway Timeout' }),
  /** IAM not yet applying the handler's (replaced) policy. */
  accessDenied: (): Fault => ({
    method: 'PATCH',
    status: 403,
    errorType: 'AccessDeniedException',
    message: 'User is not authorized to perform: iot:UpdateProvisioningTemplate',
  }),
  unauthorized: (): Fault => ({
    method: 'PATCH',
    status: 401,
    errorType: 'UnauthorizedException',
    message: 'Access to the resource is not authorized.',
  }),
  dropConnection: (): Fault => ({ drop: true }),
  slow: (delayMs: number): Fault => ({ delayMs }),
};

export type Outcome = 'ok' | 'error' | 'fault' | 'throttled' | 'dropped' | 'abandoned' | 'pending';

/** One request the fake received. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly templateName?: string;
  readonly body?: Record<string, unknown>;
  readonly headers: http.IncomingHttpHeaders;
  outcome: Outcome;
  status?: number;
  /** Whether this request changed the template state. */
  applied: boolean;
}

interface QueuedFault {
  readonly fault: Fault;
  remaining: number;
}

/** Base of both fakes: a server on 127.0.0.1 that tracks its sockets and timers. */
abstract class LocalServer {
  protected server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly faultQueue: QueuedFault[] = [];
  private rateLimit: number | undefined;
  private readonly accepted: number[] = [];
  private persistentFault: Fault | undefined;
  private boundPort = 0;

  get port(): number {
    return this.boundPort;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Throttle requests above `perSecond` accepted in any sliding second; undefined: no limit. */
  throttleAbove(perSecond: number | undefined): this {
    this.rateLimit = perSecond;
    return this;
  }

  /** The highest number of requests accepted within any one second so far. */
  get peakAcceptedPerSecond(): number {
    let peak = 0;
    let start = 0;
    for (let end = 0; end < this.accepted.length; end++) {
      while (this.accepted[end] - this.accepted[start] >= 1_000) start++;
      peak = Math.max(peak, end - start + 1);
    }
    return peak;
  }

  /** Whether a request is within the rate limit; one that is counts as accepted. */
  protected admit(): boolean {
    const now = Date.now();
    if (this.rateLimit !== undefined) {
      let inLastSecond = 0;
      for (let i = this.accepted.length - 1; i >= 0 && now - this.accepted[i] < 1_000; i--) inLastSecond++;
      if (inLastSecond >= this.rateLimit) return false;
    }
    this.accepted.push(now);
    return true;
  }

  protected resetRate(): void {
    this.accepted.length = 0;
    this.rateLimit = undefined;
  }

  /** A new server of this kind, listening. */
  static async start<T extends LocalServer>(this: new () => T): Promise<T> {
    const fake = new this();
    await fake.listen();
    return fake;
  }

  /** Start listening: on a random port the first time, on the same port again after `close()`. */
  async listen(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => this.receive(req, res));
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, '127.0.0.1', () => resolve());
    });
    this.boundPort = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stop listening and cut every connection: from now on, connections to the port are refused. */
  async close(): Promise<void> {
    this.clearTimers();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  /** The next `times` matching requests take `fault`, after those already queued. */
  inject(fault: Fault, times = 1): this {
    this.faultQueue.push({ fault, remaining: times });
    return this;
  }

  /** Every matching request takes `fault` (after the queue), until `clearFaults()`. */
  injectAlways(fault: Fault): this {
    this.persistentFault = fault;
    return this;
  }

  clearFaults(): this {
    this.faultQueue.length = 0;
    this.persistentFault = undefined;
    return this;
  }

  /** How many queued faults were not used. */
  get pendingFaults(): number {
    return this.faultQueue.reduce((sum, q) => sum + q.remaining, 0);
  }

  protected takeFault(method: string): Fault | undefined {
    const queued = this.faultQueue.find(
      (q) => q.remaining > 0 && (q.fault.method === undefined || q.fault.method === method),
    );
    if (queued) {
      queued.remaining--;
      if (queued.remaining === 0) this.faultQueue.splice(this.faultQueue.indexOf(queued), 1);
      return queued.fault;
    }
    const always = this.persistentFault;
    return always && (always.method === undefined || always.method === method) ? always : undefined;
  }

  protected later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  protected clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  protected abstract receive(req: http.IncomingMessage, res: http.ServerResponse): void;
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(text);
}

function sendError(res: http.ServerResponse, status: number, errorType: string | undefined, message: string): void {
  // Real IoT appends a namespace after ':' to the error type; the SDK drops it.
  const headers: Record<string, string> = errorType
    ? { 'x-amzn-errortype': `${errorType}:http://internal.amazon.com/coral/com.amazonaws.iot/` }
    : {};
  sendJson(res, status, { message }, headers);
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

const UPDATE_FIELDS = [
  'description',
  'enabled',
  'defaultVersionId',
  'provisioningRoleArn',
  'preProvisioningHook',
  'removePreProvisioningHook',
];

/** AWS IoT's provisioning template API, in memory. */
export class FakeIot extends LocalServer {
  readonly requests: RecordedRequest[] = [];
  private readonly templates = new Map<string, TemplateState>();

  /** Forget templates, requests, faults and the rate limit. */
  reset(): void {
    this.clearTimers();
    this.clearFaults();
    this.templates.clear();
    this.requests.length = 0;
    this.resetRate();
  }

  putTemplate(name: string, seed: TemplateSeed = {}): TemplateState {
    const versionIds = seed.versionIds ?? [1, 2, 3];
    const state: TemplateState = {
      templateName: name,
      templateArn: templateArn(name),
      type: seed.type ?? 'FLEET_PROVISIONING',
      enabled: seed.enabled ?? false,
      defaultVersionId: seed.defaultVersionId ?? versionIds[0],
      versionIds,
      provisioningRoleArn: seed.provisioningRoleArn ?? roleArn('OriginalProvisioningRole'),
      ...(seed.description !== undefined ? { description: seed.description } : {}),
      ...(seed.preProvisioningHook ? { preProvisioningHook: { ...seed.preProvisioningHook } } : {}),
    };
    this.templates.set(name, state);
    return this.template(name)!;
  }

  /** A copy of the template's state, or undefined if it does not exist. */
  template(name: string): TemplateState | undefined {
    const state = this.templates.get(name);
    return state ? structuredClone(state) : undefined;
  }

  /** Someone deletes the template out of band. */
  deleteTemplate(name: string): void {
    this.templates.delete(name);
  }

  /** Someone changes the template out of band. */
  modifyTemplate(name: string, change: Partial<Omit<TemplateState, 'templateName' | 'templateArn'>>): void {
    const state = this.templates.get(name);
    if (!state) throw new Error(`no template ${name}`);
    this.templates.set(name, { ...state, ...change });
  }

  /**
   * Hold the next `times` UpdateProvisioningTemplate requests, unanswered and
   * not applied, until `release()`. `arrived()` resolves once the first has
   * come in; `release()` resolves once the held requests are answered (or, if
   * their sender gave up, abandoned).
   */
  holdWrites(times = 1): { arrived: () => Promise<void>; release: () => Promise<void> } {
    let open!: () => void;
    const latch = new Promise<void>((resolve) => (open = resolve));
    this.inject({ method: 'PATCH', until: latch }, times);
    const seen = this.requests.length;
    return {
      arrived: async () => {
        for (let waited = 0; !this.requests.slice(seen).some((r) => r.method === 'PATCH'); waited += 5) {
          if (waited > 10_000) throw new Error('no UpdateProvisioningTemplate arrived');
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      },
      release: async () => {
        open();
        await latch;
        await new Promise((resolve) => setImmediate(resolve));
      },
    };
  }

  /** Recorded requests, optionally those for one template and/or one method. */
  calls(filter: { templateName?: string; method?: string } = {}): RecordedRequest[] {
    return this.requests.filter(
      (r) =>
        (filter.templateName === undefined || r.templateName === filter.templateName) &&
        (filter.method === undefined || r.method === filter.method),
    );
  }

  protected receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    void this.handle(req, res).catch((e) => {
      sendError(res, 500, 'InternalFailureException', `fake IoT crashed: ${String(e)}`);
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/provisioning-templates\/([^/]+)$/.exec(url.pathname);
    const text = await readBody(req);
    let body: Record<string, unknown> | undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      templateName: match ? decodeURIComponent(match[1]) : undefined,
      body,
      headers: req.headers,
      outcome: 'pending',
      applied: false,
    };
    this.requests.push(record);

    if (!match || (req.method !== 'GET' && req.method !== 'PATCH')) {
      record.outcome = 'error';
      record.status = 404;
      sendError(res, 404, 'UnknownOperationException', `fake IoT does not implement ${req.method} ${url.pathname}`);
      return;
    }

    if (!this.admit()) {
      record.outcome = 'throttled';
      record.status = 400;
      sendError(res, 400, 'ThrottlingException', 'Rate exceeded');
      return;
    }

    const fault = this.takeFault(record.method);
    if (!fault) {
      this.answer(record, res);
      return;
    }
    if (fault.applyFirst && record.method === 'PATCH') {
      this.apply(record);
    }
    const act = () => {
      if (fault.drop) {
        record.outcome = 'dropped';
        res.socket?.destroy();
      } else if (fault.status !== undefined) {
        record.outcome = 'fault';
        record.status = fault.status;
        sendError(res, fault.status, fault.errorType, fault.message ?? 'fault injected');
      } else if (res.destroyed || res.socket?.destroyed) {
        // A slow answer nobody waits for any more: not processed.
        record.outcome = 'abandoned';
      } else {
        this.answer(record, res);
      }
    };
    if (fault.until) {
      void fault.until.then(act, act);
    } else if (fault.delayMs) {
      this.later(fault.delayMs, act);
    } else {
      act();
    }
  }

  /** The normal answer. */
  private answer(record: RecordedRequest, res: http.ServerResponse): void {
    const name = record.templateName!;
    const state = this.templates.get(name);
    if (!state) {
      record.outcome = 'error';
      record.status = 404;
      sendError(res, 404, 'ResourceNotFoundException', `The provisioning template ${name} does not exist.`);
      return;
    }
    if (record.method === 'GET') {
      record.outcome = 'ok';
      record.status = 200;
      sendJson(res, 200, {
        templateArn: state.templateArn,
        templateName: state.templateName,
        description: state.description,
        creationDate: 1_700_000_000,
        lastModifiedDate: 1_700_000_000,
        defaultVersionId: state.defaultVersionId,
        templateBody: '{"Resources":{}}',
        enabled: state.enabled,
        provisioningRoleArn: state.provisioningRoleArn,
        preProvisioningHook: state.preProvisioningHook,
        type: state.type,
      });
      return;
    }
    try {
      if (!record.applied) this.apply(record);
      record.outcome = 'ok';
      record.status = 200;
      sendJson(res, 200, {});
    } catch (e) {
      if (!(e instanceof RequestError)) throw e;
      record.outcome = 'error';
      record.status = e.status;
      sendError(res, e.status, e.errorType, e.message);
    }
  }

  /** UpdateProvisioningTemplate: validate everything, then change everything at once. */
  private apply(record: RecordedRequest): void {
    const name = record.templateName!;
    const state = this.templates.get(name);
    if (!state) {
      throw new RequestError(404, 'ResourceNotFoundException', `The provisioning template ${name} does not exist.`);
    }
    const body = record.body ?? {};
    for (const key of Object.keys(body)) {
      if (!UPDATE_FIELDS.includes(key)) throw new RequestError(400, 'InvalidRequestException', `Unknown field ${key}`);
    }
    const next: { -readonly [K in keyof TemplateState]: TemplateState[K] } = { ...state };
    if (body.description !== undefined) {
      if (typeof body.description !== 'string')
        throw new RequestError(400, 'InvalidRequestException', 'description must be a string');
      next.description = body.description;
    }
    if (body.enabled !== undefined) {
      if (typeof body.enabled !== 'boolean')
        throw new RequestError(400, 'InvalidRequestException', 'enabled must be a boolean');
      next.enabled = body.enabled;
    }
    if (body.defaultVersionId !== undefined) {
      if (typeof body.defaultVersionId !== 'number' || !state.versionIds.includes(body.defaultVersionId)) {
        throw new RequestError(
          400,
          'InvalidRequestException',
          `Version ${String(body.defaultVersionId)} of template ${name} does not exist.`,
        );
      }
      next.defaultVersionId = body.defaultVersionId;
    }
    if (body.provisioningRoleArn !== undefined) {
      if (typeof body.provisioningRoleArn !== 'string' || !body.provisioningRoleArn.startsWith('arn:')) {
        throw new RequestError(400, 'InvalidRequestException', 'provisioningRoleArn must be an ARN');
      }
      next.provisioningRoleArn = body.provisioningRoleArn;
    }
    const hook = body.preProvisioningHook as Partial<Hook> | undefined;
    if (hook !== undefined && body.removePreProvisioningHook === true) {
      throw new RequestError(
        400,
        'InvalidRequestException',
        'preProvisioningHook and removePreProvisioningHook cannot both be given.',
      );
    }
    if (hook !== undefined) {
      if (state.type !== 'FLEET_PROVISIONING') {
        throw new RequestError(
          400,
          'InvalidRequestException',
          'Pre-provisioning hooks are only supported for FLEET_PROVISIONING templates.',
        );
      }
      if (typeof hook.targetArn !== 'string' || !hook.targetArn.startsWith('arn:')) {
        throw new RequestError(400, 'InvalidRequestException', 'preProvisioningHook.targetArn must be an ARN');
      }
      next.preProvisioningHook = { targetArn: hook.targetArn, payloadVersion: hook.payloadVersion ?? '2020-04-01' };
    }
    if (body.removePreProvisioningHook === true) {
      delete next.preProvisioningHook;
    }
    this.templates.set(name, next);
    record.applied = true;
  }
}

/** One response PUT that reached "CloudFormation". */
export interface ReceivedResponse {
  /** Path and query of the URL it was sent to. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawBody: string;
  readonly body: CloudFormationResponseBody;
  /** Date.now() when it arrived, or when it was accepted. */
  at: number;
  /** Whether the fake answered 200 (false: a scripted fault, or the sender gave up first). */
  accepted: boolean;
}

export interface CloudFormationResponseBody {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly NoEcho?: boolean;
  readonly Data?: Record<string, unknown>;
}

/** A scripted error answer to the CloudFormation API, as its query protocol sends errors. */
export interface ApiFault {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** One CloudFormation API request the handler made. */
export interface ApiRequest {
  readonly action: string;
  readonly params: Record<string, string>;
  readonly at: number;
  /** The status answered, or the fault's code. */
  readonly answer: string;
}

const CFN_XMLNS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

function xmlEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * CloudFormation's API, for the calls the handler makes: DescribeStackResource
 * on the resources it keeps a status for (the test harness sets them as
 * CloudFormation would), and DescribeStacks. A separate server from
 * FakeCloudFormation, as the API and the pre-signed response URL are in AWS.
 */
export class FakeCloudFormationApi extends LocalServer {
  readonly requests: ApiRequest[] = [];
  /** What DescribeStacks answers. */
  stackStatus = 'UPDATE_IN_PROGRESS';
  /** Resource status by logical id; a logical id not here "does not exist" in the stack. */
  private readonly statuses = new Map<string, string>();
  private readonly apiFaults: ApiFault[] = [];

  reset(): void {
    this.clearTimers();
    this.requests.length = 0;
    this.statuses.clear();
    this.apiFaults.length = 0;
    this.stackStatus = 'UPDATE_IN_PROGRESS';
    this.resetRate();
  }

  setStatus(logicalId: string, status: string | undefined): void {
    if (status === undefined) this.statuses.delete(logicalId);
    else this.statuses.set(logicalId, status);
  }

  status(logicalId: string): string | undefined {
    return this.statuses.get(logicalId);
  }

  /** The next `times` requests get `fault` instead of their answer. */
  injectApi(fault: ApiFault, times = 1): this {
    for (let i = 0; i < times; i++) this.apiFaults.push(fault);
    return this;
  }

  protected receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    void readBody(req).then((rawBody) => {
      const params = Object.fromEntries(new URLSearchParams(rawBody));
      const action = params.Action ?? '';
      const requestId = randomUUID();
      const fail = (fault: ApiFault) => {
        this.requests.push({ action, params, at: Date.now(), answer: fault.code });
        res.writeHead(fault.status, { 'content-type': 'text/xml' });
        res.end(
          `<ErrorResponse xmlns="${CFN_XMLNS}"><Error><Type>Sender</Type><Code>${fault.code}</Code>` +
            `<Message>${xmlEscape(fault.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
        );
      };
      const fault = this.apiFaults.shift();
      if (fault) return fail(fault);
      if (!this.admit()) return fail({ status: 400, code: 'Throttling', message: 'Rate exceeded' });
      if (req.method === 'POST' && action === 'DescribeStacks') {
        this.requests.push({ action, params, at: Date.now(), answer: this.stackStatus });
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          `<DescribeStacksResponse xmlns="${CFN_XMLNS}"><DescribeStacksResult><Stacks><member>` +
            `<StackId>${xmlEscape(params.StackName ?? '')}</StackId><StackName>test</StackName>` +
            `<CreationTime>2026-11-26T00:00:00.000Z</CreationTime><StackStatus>${this.stackStatus}</StackStatus>` +
            `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${requestId}</RequestId>` +
            `</ResponseMetadata></DescribeStacksResponse>`,
        );
        return;
      }
      if (req.method !== 'POST' || action !== 'DescribeStackResource') {
        return fail({
          status: 400,
          code: 'InvalidAction',
          message: `${req.method} ${action} is not supported by this fake`,
        });
      }
      const logicalId = params.LogicalResourceId ?? '';
      const status = this.statuses.get(logicalId);
      if (status === undefined) {
        return fail({
          status: 400,
          code: 'ValidationError',
          message: `Resource ${logicalId} does not exist for stack ${params.StackName}`,
        });
      }
      this.requests.push({ action, params, at: Date.now(), answer: status });
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<DescribeStackResourceResponse xmlns="${CFN_XMLNS}"><DescribeStackResourceResult><StackResourceDetail>` +
          `<StackId>${xmlEscape(params.StackName ?? '')}</StackId><LogicalResourceId>${xmlEscape(logicalId)}</LogicalResourceId>` +
          `<ResourceType>Custom::IoTProvisioningTemplateSettings</ResourceType>` +
          `<LastUpdatedTimestamp>${new Date().toISOString()}</LastUpdatedTimestamp><ResourceStatus>${status}</ResourceStatus>` +
          `</StackResourceDetail></DescribeStackResourceResult><ResponseMetadata><RequestId>${requestId}</RequestId>` +
          `</ResponseMetadata></DescribeStackResourceResponse>`,
      );
    });
  }
}

/** CloudFormation's side of a custom resource: the pre-signed URL the answer is PUT to. */
export class FakeCloudFormation extends LocalServer {
  readonly received: ReceivedResponse[] = [];

  reset(): void {
    this.clearTimers();
    this.clearFaults();
    this.received.length = 0;
  }

  /** A ResponseURL shaped like CloudFormation's pre-signed S3 URL. */
  responseUrl(requestId: string): string {
    return `http://127.0.0.1:${this.port}/cloudformation-custom-resource-response/${encodeURIComponent(requestId)}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0123abcd`;
  }

  /** Every PUT received for one request (scripted failures included), oldest first. */
  attempts(requestId: string): ReceivedResponse[] {
    return this.received.filter((r) => r.body.RequestId === requestId);
  }

  /** The answer CloudFormation accepted for one request: the last PUT it answered 200 to. */
  responseTo(requestId: string): CloudFormationResponseBody | undefined {
    return this.attempts(requestId)
      .filter((r) => r.accepted)
      .at(-1)?.body;
  }

  protected receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    void readBody(req).then((rawBody) => {
      let body: CloudFormationResponseBody;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = { RequestId: '(unparsable)' } as CloudFormationResponseBody;
      }
      const fault = req.method === 'PUT' ? this.takeFault('PUT') : undefined;
      const record: ReceivedResponse = {
        url: req.url ?? '',
        headers: req.headers,
        rawBody,
        body,
        at: Date.now(),
        accepted: false,
      };
      this.received.push(record);
      const act = () => {
        if (res.destroyed || res.socket?.destroyed) {
          return; // The sender gave up waiting: nothing was accepted.
        }
        if (fault?.drop) {
          res.socket?.destroy();
        } else if (fault?.status !== undefined) {
          res.writeHead(fault.status, { 'content-type': 'application/xml' });
          res.end(
            '<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>',
          );
        } else if (req.method !== 'PUT') {
          res.writeHead(405);
          res.end();
        } else {
          // A delay-only fault is a slow success.
          record.accepted = true;
          record.at = Date.now();
          res.writeHead(200);
          res.end();
        }
      };
      if (fault?.delayMs) {
        this.later(fault.delayMs, act);
      } else {
        act();
      }
    });
  }
}
