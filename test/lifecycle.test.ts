/**
 * CloudFormation's lifecycle of Custom::IoTProvisioningTemplateSettings,
 * replayed over the wire against the BUNDLED handler (issues 2 and 3):
 * Create -> Update -> Delete, rollbacks (also ones that start while the
 * template is being written), replacement, redelivery, Deletes after failures, and
 * many resources created at once against a throttling endpoint. Each test
 * asserts the fake IoT's template state.
 */
import { HANDLER_TIMEOUT } from '../lib/provider';
import {
  CREATE_FAILED_MARKER,
  WireHarness,
  asked,
  expectAtMostTwoCalls,
  expectFailed,
  expectOneReadThenOneWrite,
  expectSuccess,
  forTemplate,
  freshBundledHandler,
  settings,
  withEnv,
} from './support/cfn';
import { AS_IT_WAS, Hook, faults, functionArn, roleArn, TemplateState } from './support/fake-iot';
import type { SettingsProperties } from '../lib/handler-contract';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

const h = WireHarness.install();

const NAME = 'FleetTemplate';
const HOOK_A = { TargetArn: functionArn('HookA'), PayloadVersion: '2020-04-01' };
const HOOK_B = { TargetArn: functionArn('HookB'), PayloadVersion: '2020-04-01' };
const THEIR_HOOK: Hook = { targetArn: functionArn('SomeoneElsesHook'), payloadVersion: '2020-04-01' };

function seed(name = NAME): TemplateState {
  return h.iot.putTemplate(name, AS_IT_WAS);
}

function withoutHook(state: TemplateState): TemplateState {
  const { preProvisioningHook: _hook, ...rest } = state;
  return rest;
}

describe('Create -> Update -> Delete', () => {
  test('every field one at a time, then all at once, then the hook removed, then Delete', async () => {
    const original = seed();

    // Nothing managed yet: one read, no write.
    let props = settings({ TemplateName: NAME });
    const created = await h.create(props);
    expectSuccess(created, NAME);
    expect(created.response!.Data).toEqual({ TemplateArn: original.templateArn });
    expect(created.iotRequests.map((r) => r.method)).toEqual(['GET']);
    expect(h.iot.template(NAME)).toEqual(original);

    let expected = original;
    const steps: Array<[string, Partial<SettingsProperties>]> = [
      ['description', { Description: 'one' }],
      ['enabled', { Enabled: 'true' }],
      ['default version', { DefaultVersionId: '3' }],
      ['provisioning role', { ProvisioningRoleArn: roleArn('SecondRole') }],
      ['hook', { PreProvisioningHook: HOOK_A }],
      [
        'all at once',
        {
          Description: 'all at once',
          Enabled: 'false',
          DefaultVersionId: '2',
          ProvisioningRoleArn: roleArn('ThirdRole'),
          PreProvisioningHook: HOOK_B,
        },
      ],
    ];
    for (const [label, change] of steps) {
      const next = { ...props, ...change };
      const updated = await h.update(NAME, next, props);
      expectSuccess(updated, NAME);
      expectAtMostTwoCalls(updated.iotRequests);
      expected = asked(expected, next);
      expect({ label, state: h.iot.template(NAME) }).toEqual({ label, state: expected });
      props = next;
    }
    expect(h.iot.template(NAME)).toMatchObject({
      description: 'all at once',
      enabled: false,
      defaultVersionId: 2,
      provisioningRoleArn: roleArn('ThirdRole'),
      preProvisioningHook: { targetArn: HOOK_B.TargetArn, payloadVersion: HOOK_B.PayloadVersion },
    });

    // The hook taken out of the props: removed in the same single write as the rest.
    const { PreProvisioningHook: _hook, ...noHook } = props;
    const unhooked = await h.update(NAME, noHook, props);
    expectSuccess(unhooked, NAME);
    expectAtMostTwoCalls(unhooked.iotRequests);
    expect(unhooked.iotRequests.at(-1)!.body).toMatchObject({
      removePreProvisioningHook: true,
      description: 'all at once',
    });
    expected = withoutHook(expected);
    expect(h.iot.template(NAME)).toEqual(expected);

    // And put back, then the resource deleted: only our hook goes, the other settings stay.
    const rehooked = await h.update(NAME, props, noHook);
    expectSuccess(rehooked, NAME);
    const deleted = await h.delete(NAME, props);
    expectSuccess(deleted, NAME);
    expectAtMostTwoCalls(deleted.iotRequests);
    expect(deleted.iotRequests.at(-1)!.body).toEqual({ removePreProvisioningHook: true, enabled: expected.enabled });
    expect(h.iot.template(NAME)).toEqual(expected);
  });

  test('Create cancelled: the Delete comes with an id CloudFormation made up, and still removes our hook', async () => {
    // Another resource failed while this Create ran: CloudFormation discards its answer
    // and deletes the resource under a physical id of its own.
    const original = seed();
    const props = settings({ TemplateName: NAME, PreProvisioningHook: HOOK_A });
    expectSuccess(await h.create(props), NAME);
    expect(h.iot.template(NAME)!.preProvisioningHook?.targetArn).toBe(HOOK_A.TargetArn);

    const madeUp = 'FleetStack-SettingsResource4F1A2B3C-1Q2W3E4R5T6Y7';
    const deleted = await h.delete(madeUp, props);

    expectSuccess(deleted, madeUp);
    expectOneReadThenOneWrite(deleted.iotRequests);
    expect(h.iot.template(NAME)).toEqual(original);
  });
});

describe('a rollback that starts while the template is being written', () => {
  // Each test holds the next UpdateProvisioningTemplate (FakeIot.holdWrites)
  // and, before releasing it, has CloudFormation (after another resource
  // failed) cancel the event and run its rollback.

  test("Create: the rollback's Delete reads the template before the write lands; the Create then removes the hook again", async () => {
    const before = seed();
    const props = settings({ TemplateName: NAME, Description: 'new', PreProvisioningHook: HOOK_A });
    const held = h.iot.holdWrites();
    const creating = h.create(props);
    await held.arrived();

    // CloudFormation cancels the Create and deletes the resource under an id of its own.
    h.cfnApi.setStatus('Settings', 'CREATE_FAILED');
    const deleted = await h.delete('FleetStack-Settings-1A2B3C4D5E6F', props);
    expectSuccess(deleted, 'FleetStack-Settings-1A2B3C4D5E6F');
    expect(deleted.iotRequests.filter((r) => r.method === 'GET')).toHaveLength(1);
    expect(deleted.iotRequests.filter((r) => r.method === 'PATCH' && r.outcome !== 'pending')).toEqual([]); // no hook yet
    expect(h.cfnApi.status('Settings')).toBe('DELETE_COMPLETE');

    await held.release();
    const created = await creating;
    const reason = expectFailed(created, NAME);
    expect(reason).toMatch(
      /stopped creating this resource .* now DELETE_COMPLETE\)\. The template was set back as it was before, its previous owner included\.$/,
    );
    // The Create's own question (the concurrent Delete asked for the stack's status too).
    expect(created.cfnRequests.filter((r) => r.action === 'DescribeStackResource').map((r) => r.answer)).toEqual([
      'DELETE_COMPLETE',
    ]);
    // A Create undone: the template exactly as before it, the owner tag and record gone.
    expect(h.iot.template(NAME)).toEqual(before);
    expect(h.iot.tagsOf(NAME)).toEqual({});
  });

  test.each<[string, SettingsProperties, SettingsProperties]>([
    [
      'a new hook, role and enabled',
      settings({
        TemplateName: NAME,
        Enabled: 'false',
        ProvisioningRoleArn: roleArn('RoleA'),
        PreProvisioningHook: HOOK_A,
      }),
      settings({
        TemplateName: NAME,
        Enabled: 'true',
        ProvisioningRoleArn: roleArn('RoleB'),
        PreProvisioningHook: HOOK_B,
      }),
    ],
    [
      'the hook removed',
      settings({ TemplateName: NAME, Description: 'A', PreProvisioningHook: HOOK_A }),
      settings({ TemplateName: NAME, Description: 'B' }),
    ],
  ])(
    'Update (%s): the rollback writes A back before the write of B lands; the Update then writes A back again',
    async (_label, a, b) => {
      seed();
      expectSuccess(await h.create(a), NAME);
      const stateA = h.iot.template(NAME)!;

      const held = h.iot.holdWrites();
      const forward = h.update(NAME, b, a);
      await held.arrived();
      h.cfnApi.setStatus('Settings', 'UPDATE_FAILED'); // cancelled
      h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
      const back = await h.update(NAME, a, b);
      expectSuccess(back, NAME);
      expect(back.cfnRequests.map((r) => r.answer)).toEqual(['UPDATE_IN_PROGRESS']); // the rollback's own check passes
      expect(h.iot.template(NAME)).toEqual(stateA);

      await held.release();
      const reason = expectFailed(await forward, NAME);
      expect(reason).toMatch(
        /stopped updating this resource .* now UPDATE_COMPLETE, the stack UPDATE_ROLLBACK_IN_PROGRESS\)\. The old settings were written back\.$/,
      );
      expect(h.iot.template(NAME)).toEqual(stateA);
    },
  );

  test('two deliveries of one Create at once (Lambda delivers at least once): both succeed, the hook stays', async () => {
    const before = seed();
    const props = settings({ TemplateName: NAME, PreProvisioningHook: HOOK_A });
    const event = h.createEvent(props);
    const held = h.iot.holdWrites();
    const slow = h.send(event, { handler: freshBundledHandler() });
    await held.arrived();
    expectSuccess(await h.send(event), NAME);
    expect(h.cfnApi.status('Settings')).toBe('CREATE_COMPLETE');

    await held.release();
    const second = await slow;
    // Both answers share the RequestId: the slower one's is the last PUT.
    expect(second.puts.at(-1)?.body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: NAME });
    expect(second.iotRequests.filter((r) => r.method === 'PATCH' && r.outcome === 'ok')).toHaveLength(2); // no undo
    expect(h.iot.template(NAME)).toEqual(asked(before, props));
  });

  test('without a rollback, a slow write succeeds after one question to CloudFormation', async () => {
    const before = seed();
    const props = settings({ TemplateName: NAME, PreProvisioningHook: HOOK_A });
    const held = h.iot.holdWrites();
    const creating = h.create(props);
    await held.arrived();
    await held.release();
    const created = await creating;
    expectSuccess(created, NAME);
    expectAtMostTwoCalls(created.iotRequests);
    expect(created.cfnRequests.map((r) => [r.params.LogicalResourceId, r.answer])).toEqual([
      ['Settings', 'CREATE_IN_PROGRESS'],
    ]);
    expect(h.iot.template(NAME)).toEqual(asked(before, props));
  });
});

describe('Update rollback: A -> B succeeds, then CloudFormation rolls back with B -> A', () => {
  const common = { TemplateName: NAME };
  const A = {
    ...common,
    Description: 'A',
    Enabled: 'true',
    DefaultVersionId: '2',
    ProvisioningRoleArn: roleArn('RoleA'),
  };
  const B = {
    ...common,
    Description: 'B',
    Enabled: 'false',
    DefaultVersionId: '3',
    ProvisioningRoleArn: roleArn('RoleB'),
  };

  test.each<[string, SettingsProperties, SettingsProperties]>([
    ['A has a hook, B none: the hook is restored', settings({ ...A, PreProvisioningHook: HOOK_A }), settings(B)],
    ['A has no hook, B one: the hook is removed', settings(A), settings({ ...B, PreProvisioningHook: HOOK_B })],
    [
      "A and B have different hooks: A's is back",
      settings({ ...A, PreProvisioningHook: HOOK_A }),
      settings({ ...B, PreProvisioningHook: HOOK_B }),
    ],
  ])('%s; the template ends exactly in state A', async (_label, a, b) => {
    seed();
    expectSuccess(await h.create(a), NAME);
    const stateA = h.iot.template(NAME)!;

    const forward = await h.update(NAME, b, a);
    expectSuccess(forward, NAME);
    expect(h.iot.template(NAME)).not.toEqual(stateA);

    const back = await h.update(NAME, a, b);
    expectSuccess(back, NAME);
    expectAtMostTwoCalls(back.iotRequests);
    expect(h.iot.template(NAME)).toEqual(stateA);
  });

  test('A -> B fails (nothing written), then B -> A: the template is exactly in state A', async () => {
    seed();
    const a = settings(A);
    const b = settings({ ...B, PreProvisioningHook: HOOK_B });
    expectSuccess(await h.create(a), NAME);
    const stateA = h.iot.template(NAME)!;

    h.iot.inject({
      method: 'PATCH',
      status: 400,
      errorType: 'InvalidRequestException',
      message: 'The template body is invalid.',
    });
    const forward = await h.update(NAME, b, a);
    expectFailed(forward, NAME);
    expect(h.iot.template(NAME)).toEqual(stateA);

    const back = await h.update(NAME, a, b);
    expectSuccess(back, NAME);
    expect(h.iot.template(NAME)).toEqual(stateA);
  });
});

describe('replacement', () => {
  test('renaming the template: the new one gets the settings, then the Delete of the old physical id removes our hook from the old one only', async () => {
    const OLD = 'FleetTemplate-Old';
    const NEW = 'FleetTemplate-New';
    seed(OLD);
    const newBefore = seed(NEW);
    const oldProps = settings({ TemplateName: OLD, Description: 'managed', PreProvisioningHook: HOOK_A });
    const newProps = settings({ TemplateName: NEW, Description: 'managed', PreProvisioningHook: HOOK_A });
    expectSuccess(await h.create(oldProps), OLD);
    const oldAfterCreate = h.iot.template(OLD)!;

    const replaced = await h.update(OLD, newProps, oldProps);

    // A new physical id tells CloudFormation the resource was replaced.
    expectSuccess(replaced, NEW);
    expect(replaced.response!.Data).toEqual({ TemplateArn: newBefore.templateArn });
    expect(forTemplate(replaced.iotRequests, OLD)).toHaveLength(0);
    expect(h.iot.template(NEW)).toEqual(asked(newBefore, newProps));
    expect(h.iot.template(OLD)).toEqual(oldAfterCreate);

    // CloudFormation then deletes the old resource, with its old properties.
    const cleanup = await h.delete(OLD, oldProps);

    expectSuccess(cleanup, OLD);
    expect(forTemplate(cleanup.iotRequests, NEW)).toHaveLength(0);
    expect(h.iot.template(OLD)).toEqual(withoutHook(oldAfterCreate));
    expect(h.iot.template(NEW)).toEqual(asked(newBefore, newProps));
  });
});

describe('redelivery: the same event twice gives the same result and no error', () => {
  const v1 = settings({ TemplateName: NAME, Description: 'v1', PreProvisioningHook: HOOK_A });
  const v2 = settings({ TemplateName: NAME, Description: 'v2' });

  /** Delivers `event` twice; both succeed with the same answer and the second changes nothing. */
  async function deliverTwice(event: CloudFormationCustomResourceEvent) {
    const first = await h.send(event);
    const afterFirst = h.iot.template(NAME);
    const second = await h.send(event);
    expectSuccess(first, NAME);
    expectSuccess(second, NAME);
    expect(second.response).toEqual(first.response);
    expect(h.iot.template(NAME)).toEqual(afterFirst);
    return { second, afterFirst };
  }

  test('Create', async () => {
    const before = seed();
    const { second, afterFirst } = await deliverTwice(h.createEvent(v1));
    expectAtMostTwoCalls(second.iotRequests);
    expect(afterFirst).toEqual(asked(before, v1));
  });

  test('Update (removing the hook)', async () => {
    seed();
    expectSuccess(await h.create(v1), NAME);
    const { second, afterFirst } = await deliverTwice(h.updateEvent(NAME, v2, v1));
    expectAtMostTwoCalls(second.iotRequests);
    expect(afterFirst).toMatchObject({ description: 'v2' });
    expect(afterFirst!.preProvisioningHook).toBeUndefined();
  });

  test('Delete', async () => {
    seed();
    expectSuccess(await h.create(v1), NAME);
    const { second, afterFirst } = await deliverTwice(h.deleteEvent(NAME, v1));
    expect(second.iotRequests.map((r) => r.method)).toEqual(['GET']);
    expect(afterFirst!.preProvisioningHook).toBeUndefined();
  });
});

describe('Deletes after failures and out-of-band changes', () => {
  const props = settings({ TemplateName: NAME, Description: 'managed', Enabled: 'true', PreProvisioningHook: HOOK_A });

  test('Delete after a Create that failed having changed nothing: no call to IoT', async () => {
    const before = seed();
    h.iot.inject({ method: 'PATCH', status: 400, errorType: 'InvalidRequestException', message: 'Invalid hook.' });
    const created = await h.create(props);
    expectFailed(created, CREATE_FAILED_MARKER);

    const deleted = await h.delete(CREATE_FAILED_MARKER, props);

    expectSuccess(deleted, CREATE_FAILED_MARKER);
    expect(deleted.iotRequests).toHaveLength(0);
    expect(h.iot.template(NAME)).toEqual(before);
  });

  test('Delete after a Create whose write landed but was never confirmed: our hook is removed', async () => {
    const before = seed();
    h.iot.injectAlways({ ...faults.internalFailure(), method: 'PATCH', applyFirst: true });
    const created = await h.create(props, { timeoutMs: 3_000 });
    expectFailed(created, NAME);
    expect(h.iot.template(NAME)).toEqual(asked(before, props));
    h.iot.clearFaults();

    const deleted = await h.delete(NAME, props);

    expectSuccess(deleted, NAME);
    expect(h.iot.template(NAME)).toEqual(withoutHook(asked(before, props)));
  }, 20_000);

  test('Delete of a template deleted out of band: SUCCESS', async () => {
    seed();
    expectSuccess(await h.create(props), NAME);
    h.iot.deleteTemplate(NAME);

    const deleted = await h.delete(NAME, props);

    expectSuccess(deleted, NAME);
    // The owner tag is read first: not found, so nothing more is asked.
    expect(deleted.iotRequests).toEqual([]);
    expect(h.iot.tagRequests.at(-1)).toMatchObject({ operation: 'ListTagsForResource', status: 404 });
  });

  test('Delete when someone else has replaced our hook: theirs stays', async () => {
    seed();
    expectSuccess(await h.create(props), NAME);
    h.iot.modifyTemplate(NAME, { preProvisioningHook: THEIR_HOOK });
    const before = h.iot.template(NAME);

    const deleted = await h.delete(NAME, props);

    expectSuccess(deleted, NAME);
    expect(deleted.iotRequests.map((r) => r.method)).toEqual(['GET']);
    expect(h.iot.template(NAME)).toEqual(before);
  });

  test('Update removing the hook when someone else has replaced it: theirs stays, the rest is applied', async () => {
    seed();
    expectSuccess(await h.create(props), NAME);
    h.iot.modifyTemplate(NAME, { preProvisioningHook: THEIR_HOOK });
    const { PreProvisioningHook: _hook, ...next } = { ...props, Description: 'changed' };

    const updated = await h.update(NAME, next, props);

    expectSuccess(updated, NAME);
    expect(updated.iotRequests.at(-1)!.body).toEqual({ description: 'changed', enabled: true });
    expect(h.iot.template(NAME)).toMatchObject({ description: 'changed', preProvisioningHook: THEIR_HOOK });
  });
});

describe('many resources at once', () => {
  test('50 Creates in parallel against IoT throttling above 10 requests/s and CloudFormation above 2: all SUCCESS within the Lambda timeout', async () => {
    const count = 50;
    const names = Array.from({ length: count }, (_, i) => `Fleet-${String(i).padStart(2, '0')}`);
    const befores = names.map((name) => seed(name));
    h.iot.throttleAbove(10);
    // 2, not 5: the tagging calls spread the Creates over about 20 s, and CloudFormation must still throttle some.
    h.cfnApi.throttleAbove(2);
    const props = names.map((name) =>
      settings({ TemplateName: name, Description: 'managed', Enabled: 'true', PreProvisioningHook: HOOK_A }),
    );

    // The handler's production settings, and the real Lambda timeout; each
    // event in its own sandbox (module instance), as Lambda scales out.
    const production = Object.fromEntries(
      Object.keys(process.env)
        .filter((k) => k.startsWith('SETTINGS_'))
        .map((k) => [k, undefined]),
    );
    const results = await withEnv(production, () =>
      Promise.all(
        props.map((p, i) =>
          // One custom resource each (its own logical id), as in a stack.
          h.send(h.createEvent(p, `Settings${i}`), {
            timeoutMs: HANDLER_TIMEOUT.toMilliseconds(),
            handler: freshBundledHandler(),
          }),
        ),
      ),
    );

    results.forEach((result, i) => {
      expectSuccess(result, names[i]);
      expect(h.iot.template(names[i])).toEqual(asked(befores[i], props[i]));
      const requests = forTemplate(h.iot.requests, names[i]);
      expectOneReadThenOneWrite(requests);
      expect(requests.filter((r) => r.outcome === 'ok').map((r) => r.method)).toEqual(['GET', 'PATCH']);
    });
    // Each Create set a new hook, so each asked CloudFormation once (retries aside) whether its resource was still being created.
    const answered = h.cfnApi.requests.filter((r) => r.answer !== 'Throttling');
    expect(answered.map((r) => r.params.LogicalResourceId).sort()).toEqual(names.map((_, i) => `Settings${i}`).sort());
    expect(answered.every((r) => r.answer === 'CREATE_IN_PROGRESS')).toBe(true);
    // Both endpoints did throttle, and never let more through in a second than their limit.
    expect(h.iot.requests.filter((r) => r.outcome === 'throttled').length).toBeGreaterThan(0);
    expect(h.iot.peakAcceptedPerSecond).toBeLessThanOrEqual(10);
    expect(h.cfnApi.requests.filter((r) => r.answer === 'Throttling').length).toBeGreaterThan(0);
    expect(h.cfnApi.peakAcceptedPerSecond).toBeLessThanOrEqual(2);
  }, 150_000);
});
