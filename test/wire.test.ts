/**
 * Deploy-time faults, over the wire (issue 3).
 *
 * The BUNDLED handler (assets/handler/index.js) runs against FakeIot through
 * the real @aws-sdk/client-iot (serializer, retry strategy, error parser) and
 * answers FakeCloudFormation through a real PUT. Only the handler's own waits
 * are shrunk (FAST_SETTINGS); the SDK's retry strategy is the real one.
 */
import {
  CREATE_FAILED_MARKER,
  WireHarness,
  asked,
  bundledHandler,
  expectAtMostTwoCalls,
  expectBeforeOrAsked,
  expectFailed,
  expectOneReadThenOneWrite,
  expectSuccess,
  settings,
  withEnv,
} from './support/cfn';
import { AS_IT_WAS, faults, functionArn, roleArn, TemplateState } from './support/fake-iot';
import { Fault } from './support/local-server';

const h = WireHarness.install();

/**
 * A short fake Lambda timeout, for tests that run into the handler's
 * deadline: with FAST_SETTINGS' 1.5 s reserve, the handler stops working
 * after 1.5 s and must have answered by 3 s.
 */
const SHORT_LAMBDA = { timeoutMs: 3_000 };

const NAME = 'FleetTemplate';
const HOOK = { TargetArn: functionArn('PreProvisioningHook'), PayloadVersion: '2020-04-01' };

/** Every setting managed, each different from the template's current value. */
const ASKED = settings({
  TemplateName: NAME,
  Description: 'Managed by the wire tests',
  Enabled: 'true',
  DefaultVersionId: '2',
  ProvisioningRoleArn: roleArn('NewProvisioningRole'),
  PreProvisioningHook: HOOK,
});

function seed(): TemplateState {
  return h.iot.putTemplate(NAME, AS_IT_WAS);
}

function patches(): number {
  return h.iot.calls({ method: 'PATCH' }).length;
}

describe('throttling', () => {
  test('ThrottlingException (400) several times in a row: retried with backoff, then SUCCESS', async () => {
    const before = seed();
    h.iot.inject({ ...faults.throttling(), method: 'GET' }, 3);

    const created = await h.create(ASKED);

    expectSuccess(created, NAME);
    expect(created.response!.Data).toEqual({ TemplateArn: before.templateArn });
    expect(h.iot.template(NAME)).toEqual(asked(before, ASKED));
    const gets = h.iot.calls({ method: 'GET' });
    expect(gets.map((r) => r.outcome)).toEqual(['fault', 'fault', 'fault', 'ok']);
    // One retry layer, the handler's: every attempt on the wire is one of its own, each logged.
    expect(h.handlerRetries('DescribeProvisioningTemplate')).toBe(3);
    expect(h.iot.pendingFaults).toBe(0);
    expectOneReadThenOneWrite(created.iotRequests);
  }, 30_000);

  test('HTTP 429 several times in a row: retried with backoff, then SUCCESS', async () => {
    const before = seed();
    h.iot.inject({ ...faults.tooManyRequests(), method: 'PATCH' }, 3);

    const created = await h.create(ASKED);

    expectSuccess(created, NAME);
    expect(h.iot.template(NAME)).toEqual(asked(before, ASKED));
    const writes = h.iot.calls({ method: 'PATCH' });
    expect(writes.map((r) => r.status)).toEqual([429, 429, 429, 200]);
    expect(writes.filter((r) => r.applied)).toHaveLength(1);
    expectOneReadThenOneWrite(created.iotRequests);
  }, 30_000);

  test('throttling that never ends: FAILED with a clear message before the Lambda timeout, template untouched', async () => {
    const before = seed();
    h.iot.injectAlways({ ...faults.throttling(), method: 'PATCH' });

    const created = await h.create(ASKED, SHORT_LAMBDA);

    // Throttled writes certainly did not land: the rollback's Delete must do nothing.
    const reason = expectFailed(created, CREATE_FAILED_MARKER);
    expect(reason).toContain('UpdateProvisioningTemplate');
    expect(reason).toContain(`"${NAME}"`);
    expect(reason).toContain('ThrottlingException');
    expect(reason).toMatch(/timeout/i);
    expect(h.iot.template(NAME)).toEqual(before);
    expect(patches()).toBeGreaterThan(1);
    expectOneReadThenOneWrite(created.iotRequests);
  }, 30_000);
});

describe('other throttling and gateway answers', () => {
  test.each([
    ['TooManyRequestsException (429)', faults.tooManyRequestsException()],
    ['HTTP 502', faults.badGateway()],
    ['HTTP 504', faults.gatewayTimeout()],
  ])('%s twice: retried, then SUCCESS', async (_label, fault) => {
    const before = seed();
    h.iot.inject({ ...fault, method: 'PATCH' }, 2);

    const created = await h.create(ASKED);

    expectSuccess(created, NAME);
    expect(h.iot.template(NAME)).toEqual(asked(before, ASKED));
    expect(h.iot.calls({ method: 'PATCH' }).map((r) => r.status)).toEqual([fault.status, fault.status, 200]);
    expectOneReadThenOneWrite(created.iotRequests);
  });
});

describe("IAM still applying the handler's replaced policy", () => {
  test.each([
    ['AccessDeniedException (403)', faults.accessDenied()],
    ['UnauthorizedException (401)', faults.unauthorized()],
  ])('%s a few times: retried by the handler, then SUCCESS', async (_label, fault) => {
    const before = seed();
    h.iot.inject(fault, 3);

    const created = await h.create(ASKED);

    expectSuccess(created, NAME);
    expect(h.iot.template(NAME)).toEqual(asked(before, ASKED));
    expect(h.iot.calls({ method: 'PATCH' }).map((r) => r.status)).toEqual([
      fault.status,
      fault.status,
      fault.status,
      200,
    ]);
    expectOneReadThenOneWrite(created.iotRequests);
  });

  test('access denied for good: retried for the propagation window only, then FAILED with the IAM message', async () => {
    const before = seed();
    h.iot.injectAlways(faults.accessDenied());

    // Plenty of Lambda time left: what stops the retries is the (shrunk) propagation window.
    const created = await h.create(ASKED, { timeoutMs: 60_000 });

    const reason = expectFailed(created, CREATE_FAILED_MARKER);
    expect(reason).toContain(`provisioning template "${NAME}"`);
    expect(reason).toContain(
      'AccessDeniedException: User is not authorized to perform: iot:UpdateProvisioningTemplate',
    );
    expect(reason).not.toMatch(/timeout/i);
    expect(patches()).toBeGreaterThan(1);
    expect(h.iot.template(NAME)).toEqual(before);
    expectOneReadThenOneWrite(created.iotRequests);
  }, 30_000);
});

describe('conflicts', () => {
  test('ConflictingResourceUpdateException (409): retried by the handler with backoff, then SUCCESS', async () => {
    const before = seed();
    h.iot.inject(faults.conflict(), 3);

    const created = await h.create(ASKED);

    expectSuccess(created, NAME);
    expect(h.iot.template(NAME)).toEqual(asked(before, ASKED));
    expect(h.iot.calls({ method: 'PATCH' }).map((r) => r.status)).toEqual([409, 409, 409, 200]);
    // A 409 is retried like any other conflict, with a new request each time.
    expect(h.handlerRetries('UpdateProvisioningTemplate')).toBe(3);
    expectOneReadThenOneWrite(created.iotRequests);
  });
});

describe('a provisioning role IoT cannot assume yet (IAM propagation)', () => {
  test('retried until the role propagates, then SUCCESS', async () => {
    const before = seed();
    h.iot.inject(faults.roleNotAssumable(), 4);

    const created = await h.create(ASKED);

    expectSuccess(created, NAME);
    expect(h.iot.template(NAME)).toEqual(asked(before, ASKED));
    expect(patches()).toBe(5);
    expectOneReadThenOneWrite(created.iotRequests);
  });

  test('a role that never becomes assumable: retried for the propagation window only, then FAILED naming the role', async () => {
    const before = seed();
    h.iot.injectAlways(faults.roleNotAssumable());

    // The Lambda has plenty of time left: what stops the retries is the (shrunk) propagation window.
    const created = await h.create(ASKED, { timeoutMs: 60_000 });

    const reason = expectFailed(created, CREATE_FAILED_MARKER);
    expect(reason).toContain(ASKED.ProvisioningRoleArn!);
    expect(reason).toContain('iot.amazonaws.com');
    expect(reason).toContain('InvalidRequestException');
    expect(reason).not.toMatch(/timeout/i);
    expect(patches()).toBeGreaterThan(1);
    expect(h.iot.template(NAME)).toEqual(before);
    expectOneReadThenOneWrite(created.iotRequests);
  }, 30_000);

  test('any other InvalidRequestException is not retried: FAILED at once, template untouched', async () => {
    const before = seed();

    const created = await h.create({ ...ASKED, DefaultVersionId: '9' });

    const reason = expectFailed(created, CREATE_FAILED_MARKER);
    expect(reason).toContain('InvalidRequestException');
    expect(reason).toContain('Version 9');
    expect(patches()).toBe(1);
    expect(h.iot.template(NAME)).toEqual(before);
  });
});

describe('server errors and dropped connections', () => {
  test('InternalFailureException (500): retried by the handler, then SUCCESS', async () => {
    const before = seed();
    h.iot
      .inject({ ...faults.internalFailure(), method: 'GET' }, 2)
      .inject({ ...faults.internalFailure(), method: 'PATCH' }, 1);

    const created = await h.create(ASKED);

    expectSuccess(created, NAME);
    expect(h.iot.template(NAME)).toEqual(asked(before, ASKED));
    expect(h.iot.calls().map((r) => `${r.method} ${r.status}`)).toEqual([
      'GET 500',
      'GET 500',
      'GET 200',
      'PATCH 500',
      'PATCH 200',
    ]);
    expect(h.handlerRetries()).toBe(3);
  });

  test('a dropped connection: retried by the handler, then SUCCESS', async () => {
    const before = seed();
    h.iot.inject({ ...faults.dropConnection(), method: 'GET' }, 2);

    const created = await h.create(ASKED);

    expectSuccess(created, NAME);
    expect(h.iot.template(NAME)).toEqual(asked(before, ASKED));
    expect(h.iot.calls({ method: 'GET' }).map((r) => r.outcome)).toEqual(['dropped', 'dropped', 'ok']);
    expect(h.handlerRetries('DescribeProvisioningTemplate')).toBe(2);
  });

  test('a write that lands but whose answer is lost: retried as the same single write, then SUCCESS', async () => {
    const before = seed();
    h.iot.inject({ ...faults.dropConnection(), method: 'PATCH', applyFirst: true }, 1);

    const created = await h.create(ASKED);

    expectSuccess(created, NAME);
    expect(h.iot.template(NAME)).toEqual(asked(before, ASKED));
    expectOneReadThenOneWrite(created.iotRequests);
  });

  test('500 that never ends: a clear FAILED; the physical id is kept because the write may have landed', async () => {
    const before = seed();
    h.iot.injectAlways({ ...faults.internalFailure(), method: 'PATCH' });

    const created = await h.create(ASKED, SHORT_LAMBDA);

    const reason = expectFailed(created, NAME);
    expect(reason).toContain('UpdateProvisioningTemplate');
    expect(reason).toContain('InternalFailureException');
    expect(expectBeforeOrAsked(h.iot, before, ASKED)).toBe('before');
    expectOneReadThenOneWrite(created.iotRequests);
  }, 30_000);

  test('connections dropped after the write landed, until the end: FAILED, template exactly as asked', async () => {
    const before = seed();
    h.iot.injectAlways({ ...faults.dropConnection(), method: 'PATCH', applyFirst: true });

    const created = await h.create(ASKED, SHORT_LAMBDA);

    const reason = expectFailed(created, NAME);
    expect(reason).toContain('UpdateProvisioningTemplate');
    expect(expectBeforeOrAsked(h.iot, before, ASKED)).toBe('asked');
    expectOneReadThenOneWrite(created.iotRequests);
  }, 30_000);
});

describe('slow answers', () => {
  test('an answer slower than SETTINGS_REQUEST_TIMEOUT_MS: the request is abandoned and retried, then SUCCESS', async () => {
    const before = seed();
    // Far longer than the test: if the handler waited for it, the test would time out.
    h.iot.inject({ ...faults.slow(120_000), method: 'GET' }, 1);

    const created = await h.create(ASKED);

    expectSuccess(created, NAME);
    expect(h.iot.template(NAME)).toEqual(asked(before, ASKED));
    const gets = h.iot.calls({ method: 'GET' });
    expect(gets).toHaveLength(2);
    expect(h.handlerRetries('DescribeProvisioningTemplate')).toBe(1);
  }, 20_000);

  test('every write slow: never hangs, FAILED before the Lambda timeout', async () => {
    const before = seed();
    h.iot.injectAlways({ ...faults.slow(120_000), method: 'PATCH' });

    const created = await withEnv({ SETTINGS_REQUEST_TIMEOUT_MS: '300' }, () => h.create(ASKED, SHORT_LAMBDA));

    const reason = expectFailed(created, NAME);
    expect(reason).toContain('UpdateProvisioningTemplate');
    expect(reason).toMatch(/timeout|timed out/i);
    expect(patches()).toBeGreaterThan(1);
    expect(expectBeforeOrAsked(h.iot, before, ASKED)).toBe('before');
  }, 30_000);
});

describe('the Lambda timeout', () => {
  test('invoked with less time left than the answer reserve: FAILED at once, nothing changed', async () => {
    const before = seed();

    const created = await h.create(ASKED, { timeoutMs: 1_000 });

    const reason = expectFailed(created, CREATE_FAILED_MARKER);
    expect(reason).toMatch(/timeout/i);
    expect(patches()).toBe(0);
    expect(h.iot.template(NAME)).toEqual(before);
  });

  test('a write still hanging when the deadline comes: cut off, FAILED sent before the Lambda timeout', async () => {
    const before = seed();
    h.iot.injectAlways({ ...faults.slow(120_000), method: 'PATCH' });

    // A per-request timeout longer than the Lambda: only the handler's deadline can end the call.
    const created = await withEnv({ SETTINGS_REQUEST_TIMEOUT_MS: '60000' }, () => h.create(ASKED, SHORT_LAMBDA));

    const reason = expectFailed(created, NAME);
    expect(reason).toContain('UpdateProvisioningTemplate');
    expect(reason).toMatch(/timeout/i);
    expect(patches()).toBe(1);
    expect(expectBeforeOrAsked(h.iot, before, ASKED)).toBe('before');
  }, 30_000);
});

describe('the answer to CloudFormation', () => {
  test('response PUT answered 500: retried, the same answer delivered', async () => {
    seed();
    h.cfn.inject({ status: 500 }, 2);

    const created = await h.create(ASKED);

    expectSuccess(created, NAME);
    expect(created.puts.map((p) => p.accepted)).toEqual([false, false, true]);
    expect(new Set(created.puts.map((p) => p.rawBody)).size).toBe(1);
    expect(created.puts[2].url).toBe(
      new URL(created.event.ResponseURL).pathname + new URL(created.event.ResponseURL).search,
    );
    // What S3 needs for a pre-signed PUT: no content type.
    expect(created.puts[2].headers['content-type'] ?? '').toBe('');
  });

  test('response PUT refused (nothing listening): retried until it gets through', async () => {
    seed();
    await h.cfn.close();
    h.onLog(
      (line) => line.message === 'answer to CloudFormation failed; retrying',
      () => {
        void h.cfn.listen();
      },
    );

    const created = await h.create(ASKED);

    expect(h.cfn.listening).toBe(true);
    expect(h.logs.some((l) => l.message === 'answer to CloudFormation failed; retrying')).toBe(true);
    expectSuccess(created, NAME);
  });

  test('response PUT that never gets through: the handler gives up after SETTINGS_RESPONSE_ATTEMPTS and returns', async () => {
    seed();
    h.cfn.injectAlways({ status: 500 });

    const created = await h.create(ASKED);

    expect(created.threw).toBeUndefined();
    expect(created.finishedInTime).toBe(true);
    expect(created.response).toBeUndefined();
    expect(created.puts).toHaveLength(6);
    expect(h.logs.some((l) => String(l.message).startsWith('could not answer CloudFormation'))).toBe(true);
  });

  test('a hanging response PUT does not make the handler miss its Lambda timeout', async () => {
    seed();
    h.cfn.injectAlways({ delayMs: 120_000 });

    const created = await h.create(ASKED, SHORT_LAMBDA);

    expect(created.threw).toBeUndefined();
    expect(created.finishedInTime).toBe(true);
    expect(created.puts.length).toBeGreaterThan(0);
    expect(created.response).toBeUndefined();
  }, 30_000);
});

describe('CloudFormation, asked after a new hook is set whether the resource is still being created', () => {
  test('Throttling (400) twice: retried, then SUCCESS', async () => {
    const before = seed();
    h.cfnApi.injectApi({ status: 400, code: 'Throttling', message: 'Rate exceeded' }, 2);

    const created = await h.create(ASKED);

    expectSuccess(created, NAME);
    expect(created.cfnRequests.map((r) => r.answer)).toEqual(['Throttling', 'Throttling', 'CREATE_IN_PROGRESS']);
    expect(h.iot.template(NAME)).toEqual(asked(before, ASKED));
    expectAtMostTwoCalls(created.iotRequests);
  }, 30_000);

  test("AccessDenied (403) while IAM applies the handler's policy: retried, then SUCCESS", async () => {
    seed();
    const denied = {
      status: 403,
      code: 'AccessDenied',
      message: 'User is not authorized to perform: cloudformation:DescribeStackResource',
    };
    h.cfnApi.injectApi(denied, 2);

    const created = await h.create(ASKED);

    expectSuccess(created, NAME);
    expect(created.cfnRequests.map((r) => r.answer)).toEqual(['AccessDenied', 'AccessDenied', 'CREATE_IN_PROGRESS']);
  }, 30_000);

  test('AccessDenied for good: the template is set back as it was and the Create fails, naming the call and the permission', async () => {
    const before = seed();
    h.cfnApi.injectApi(
      {
        status: 403,
        code: 'AccessDenied',
        message: 'User is not authorized to perform: cloudformation:DescribeStackResource',
      },
      1_000,
    );

    const created = await h.create(ASKED, { timeoutMs: 60_000 });

    const reason = expectFailed(created, NAME);
    expect(reason).toMatch(
      /^Provisioning template "FleetTemplate": could not confirm that the stack is still creating this resource: DescribeStackResource on provisioning template "FleetTemplate" failed after \d+ attempts .*AccessDenied: User is not authorized to perform: cloudformation:DescribeStackResource\. The template was set back as it was before, its previous owner included\.$/,
    );
    expect(h.iot.template(NAME)).toEqual(before);
    expect(h.iot.calls({ method: 'PATCH' }).map((r) => r.body)).toEqual([
      expect.objectContaining({
        preProvisioningHook: { targetArn: HOOK.TargetArn, payloadVersion: HOOK.PayloadVersion },
      }),
      expect.objectContaining({ removePreProvisioningHook: true, enabled: before.enabled }),
      // The record's role in a write of its own: the handler may pass only its stack's roles.
      { provisioningRoleArn: before.provisioningRoleArn, enabled: before.enabled },
    ]);
  }, 30_000);
});

describe('the time kept for the question after a write', () => {
  test('a write still unanswered when only SETTINGS_CHECK_RESERVE_MS is left is cut off there, and does not land', async () => {
    // SHORT_LAMBDA: work ends 1.5 s after the start; a write followed by a question ends 300 ms before that.
    const before = seed();
    // Every attempt held (the request timeout abandons the first one after 1 s, and the handler retries it).
    const held = h.iot.holdWrites(10);
    const start = Date.now();
    // Released after the write's own cut-off (1.2 s) but before the handler's deadline (1.5 s):
    // without the reserve, the write would land now and leave no time to ask CloudFormation.
    const timer = setTimeout(() => void held.release(), 1_350);

    const created = await h.create(ASKED, SHORT_LAMBDA);
    clearTimeout(timer);
    await held.release();

    const reason = expectFailed(created, NAME);
    expect(reason).toMatch(
      /^UpdateProvisioningTemplate on provisioning template "FleetTemplate" failed.*gave up before the handler's timeout/,
    );
    expect(h.iot.calls({ method: 'PATCH' }).every((r) => r.outcome === 'abandoned')).toBe(true);
    expect(h.iot.template(NAME)).toEqual(before);
    expect(created.puts[0].at - start).toBeGreaterThanOrEqual(1_200);
  }, 30_000);
});

describe('without faults', () => {
  test('a Create is one read and one write (the module loaded with require, as Lambda does)', async () => {
    const before = seed();

    const created = await h.create(ASKED, { handler: bundledHandler() });

    expectSuccess(created, NAME);
    expect(h.iot.template(NAME)).toEqual(asked(before, ASKED));
    expectAtMostTwoCalls(created.iotRequests);
    expect(created.iotRequests[1].body).toEqual({
      description: ASKED.Description,
      enabled: true,
      defaultVersionId: 2,
      provisioningRoleArn: ASKED.ProvisioningRoleArn,
      preProvisioningHook: { targetArn: HOOK.TargetArn, payloadVersion: HOOK.PayloadVersion },
    });
  });

  test('a Create of a template that does not exist: FAILED, nothing to delete later', async () => {
    const created = await h.create(ASKED);

    const reason = expectFailed(created, CREATE_FAILED_MARKER);
    expect(reason).toContain(`"${NAME}" does not exist`);
    expect(reason).toContain('Create it first');
    expect(patches()).toBe(0);
  });
});

test.each<[string, Fault]>([
  ['503 ServiceUnavailableException', faults.serviceUnavailable()],
  ['HTTP 429 without an error code', faults.tooManyRequests()],
])(
  '%s on a Delete: retried, then SUCCESS and our hook removed',
  async (_label, fault) => {
    const before = h.iot.putTemplate(NAME, {
      preProvisioningHook: { targetArn: HOOK.TargetArn, payloadVersion: HOOK.PayloadVersion },
    });
    h.iot.inject(fault, 1);

    const deleted = await h.delete(NAME, ASKED);

    expectSuccess(deleted, NAME);
    const { preProvisioningHook: _removed, ...rest } = before;
    expect(h.iot.template(NAME)).toEqual(rest);
    expect(h.iot.calls({ method: 'PATCH' }).at(-1)!.body).toEqual({
      removePreProvisioningHook: true,
      enabled: before.enabled,
    });
    expectOneReadThenOneWrite(deleted.iotRequests);
  },
  30_000,
);
