/**
 * A local stand-in for AWS IoT, over real HTTP on 127.0.0.1 (a random port).
 *
 * FakeIot speaks the AWS IoT REST-JSON wire protocol for the calls the
 * handler makes: DescribeProvisioningTemplate (GET) and
 * UpdateProvisioningTemplate (PATCH) on /provisioning-templates/{name}, and
 * ListTagsForResource, TagResource and UntagResource on a template's ARN.
 * It keeps template state in memory, records every request, and can be
 * scripted to inject faults (errors, delays, dropped connections) and to
 * throttle above a request rate.
 *
 * Errors follow what @aws-sdk/client-iot parses (AwsRestJsonProtocol): the
 * error code from the `x-amzn-ErrorType` header (anything after ':' is
 * dropped), the message from the JSON body's `message`.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { Fault, LocalServer, readBody } from './local-server';

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

/** A template as the tests find it before the handler touches it (no hook: add one where a test needs it). */
export const AS_IT_WAS: TemplateSeed = {
  description: 'as it was',
  enabled: false,
  defaultVersionId: 1,
  versionIds: [1, 2, 3],
  provisioningRoleArn: roleArn('OriginalProvisioningRole'),
};

/** AS_IT_WAS with someone else's hook, set before the construct came. */
export const EARLIER: TemplateSeed = {
  ...AS_IT_WAS,
  preProvisioningHook: { targetArn: functionArn('EarlierHook'), payloadVersion: '2020-04-01' },
};

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
/** A tagging call, as the fake saw it. */
export interface TagRequest {
  readonly operation: 'ListTagsForResource' | 'TagResource' | 'UntagResource';
  readonly resourceArn: string;
  readonly templateName?: string;
  readonly body: unknown;
  status: number;
}

export class FakeIot extends LocalServer {
  readonly requests: RecordedRequest[] = [];
  /** TagResource, UntagResource and ListTagsForResource requests (not in `requests`; faults from `injectTags`). */
  readonly tagRequests: TagRequest[] = [];
  /** Faults for the tagging calls, in order: each taken by the next call of its operation. */
  private readonly tagFaults: Array<{ operation: TagRequest['operation']; fault: Fault }> = [];
  /** ListTagsForResource answers at most this many tags a page (with a nextToken for the rest). */
  tagPageSize = 50;
  private readonly templates = new Map<string, TemplateState>();
  /** Roles the caller may not pass (iam:PassRole refused): writes naming one are refused as a whole. */
  readonly unpassableRoles = new Set<string>();
  /** Each template's tags, by template name. */
  private readonly tags = new Map<string, Map<string, string>>();

  /** Forget templates, requests, faults and the rate limit. */
  reset(): void {
    this.clearTimers();
    this.clearFaults();
    this.templates.clear();
    this.tags.clear();
    this.unpassableRoles.clear();
    this.requests.length = 0;
    this.tagRequests.length = 0;
    this.tagFaults.length = 0;
    this.tagPageSize = 50;
    this.resetRate();
  }

  /** The next `times` calls of `operation` get `fault` (an error answer, or a dropped connection). */
  injectTags(operation: TagRequest['operation'], fault: Fault, times = 1): this {
    for (let i = 0; i < times; i++) this.tagFaults.push({ operation, fault });
    return this;
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
    this.tags.set(name, new Map());
    return this.template(name)!;
  }

  /** The template's tags, or undefined if it does not exist. */
  tagsOf(name: string): Record<string, string> | undefined {
    const tags = this.tags.get(name);
    return tags && this.templates.has(name) ? Object.fromEntries(tags) : undefined;
  }

  /** Someone tags the template out of band (value undefined: the tag removed). */
  setTag(name: string, key: string, value: string | undefined): void {
    const tags = this.tags.get(name)!;
    if (value === undefined) tags.delete(key);
    else tags.set(key, value);
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
    if (url.pathname === '/tags' || url.pathname === '/untag') {
      this.handleTags(req, url, await readBody(req), res);
      return;
    }
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

  /**
   * ListTagsForResource (GET /tags?resourceArn=), TagResource (POST /tags,
   * {resourceArn, tags: [{Key, Value}]}) and UntagResource (POST /untag,
   * {resourceArn, tagKeys}), for provisioning template ARNs.
   */
  private handleTags(req: http.IncomingMessage, url: URL, text: string, res: http.ServerResponse): void {
    const body = (text ? JSON.parse(text) : {}) as {
      resourceArn?: string;
      tags?: { Key: string; Value: string }[];
      tagKeys?: string[];
    };
    const resourceArn = url.searchParams.get('resourceArn') ?? body.resourceArn ?? '';
    const operation =
      req.method === 'GET' ? 'ListTagsForResource' : url.pathname === '/untag' ? 'UntagResource' : 'TagResource';
    const name = /:provisioningtemplate\/(.+)$/.exec(resourceArn)?.[1];
    const record: TagRequest = { operation, resourceArn, templateName: name, body, status: 200 };
    this.tagRequests.push(record);
    const faultAt = this.tagFaults.findIndex((f) => f.operation === operation);
    if (faultAt >= 0) {
      const [{ fault }] = this.tagFaults.splice(faultAt, 1);
      record.status = fault.status ?? 0;
      if (fault.drop) res.socket?.destroy();
      else sendError(res, fault.status ?? 500, fault.errorType, fault.message ?? 'fault injected');
      return;
    }
    if (!this.admit()) {
      record.status = 400;
      sendError(res, 400, 'ThrottlingException', 'Rate exceeded');
      return;
    }
    const tags = name !== undefined && this.templates.has(name) ? this.tags.get(name)! : undefined;
    if (!tags) {
      record.status = 404;
      sendError(res, 404, 'ResourceNotFoundException', `No resource ${resourceArn}.`);
      return;
    }
    if (operation === 'ListTagsForResource') {
      const from = Number(url.searchParams.get('nextToken') ?? 0);
      const page = [...tags].slice(from, from + this.tagPageSize).map(([Key, Value]) => ({ Key, Value }));
      const more = from + this.tagPageSize < tags.size;
      sendJson(res, 200, { tags: page, ...(more ? { nextToken: String(from + this.tagPageSize) } : {}) });
      return;
    }
    for (const tag of body.tags ?? []) {
      if (tag.Value.length > 256 || !/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u.test(tag.Value)) {
        record.status = 400;
        sendError(res, 400, 'InvalidRequestException', `Tag value of ${tag.Key} is not valid.`);
        return;
      }
    }
    const next = new Map(tags);
    for (const tag of body.tags ?? []) next.set(tag.Key, tag.Value);
    for (const key of body.tagKeys ?? []) next.delete(key);
    if (next.size > 50) {
      record.status = 400;
      sendError(res, 400, 'InvalidRequestException', 'A resource takes at most 50 tags.');
      return;
    }
    this.tags.set(name!, next);
    sendJson(res, 200, {});
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
    if (body.provisioningRoleArn !== undefined && this.unpassableRoles.has(String(body.provisioningRoleArn))) {
      throw new RequestError(
        401,
        'UnauthorizedException',
        `User is not authorized to perform: iam:PassRole on resource: ${String(body.provisioningRoleArn)}`,
      );
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
