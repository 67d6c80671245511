/**
 * Ownership (issue 13): the bundled handler over HTTP against the local IoT
 * and CloudFormation endpoints. A resource acts on a template only while the
 * owner tag names it; a rollback of the deployment that created it puts back
 * what its record kept.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { SettingsProperties } from '../lib/handler-contract';
import { asked, CREATE_FAILED_MARKER, expectFailed, expectSuccess, settings, WireHarness } from './support/cfn';
import { propsDigest, recordTags } from '../lambda/record';
import { EARLIER, functionArn, roleArn, TemplateState } from './support/fake-iot';

const h = WireHarness.install();

const NAME = 'FleetTemplate';
const OWNER = 'iot-provisioning-template-settings:owner';
const HOOK_TAG = 'iot-provisioning-template-settings:hook';
const STACK_A = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/FleetStack/11111111-0000-4000-8000-000000000000';
const STACK_B = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/OtherStack/22222222-0000-4000-8000-000000000000';
const HOOK = { TargetArn: functionArn('DeviceCheck'), PayloadVersion: '2020-04-01' };
const PROPS = settings({
  TemplateName: NAME,
  Description: 'managed',
  Enabled: 'true',
  DefaultVersionId: '2',
  ProvisioningRoleArn: roleArn('StackProvisioningRole'),
  PreProvisioningHook: HOOK,
});

function seed(): TemplateState {
  return h.iot.putTemplate(NAME, EARLIER);
}

/** An event of the resource `logicalId` in stack `stackId`. */
function inStack<E extends CloudFormationCustomResourceEvent>(event: E, stackId = STACK_A): E {
  return { ...event, StackId: stackId };
}

const create = (props: SettingsProperties, logicalId: string, stackId = STACK_A) =>
  h.send(inStack(h.createEvent(props, logicalId), stackId));
const remove = (props: SettingsProperties, logicalId: string, stackId = STACK_A) =>
  h.send(inStack(h.deleteEvent(NAME, props, logicalId), stackId));

describe('a new construct id in the same stack', () => {
  test("the old resource's Delete in the cleanup changes nothing: the hook stays", async () => {
    seed();
    expectSuccess(await create(PROPS, 'SettingsOld'), NAME);
    const set = h.iot.template(NAME);
    expectSuccess(await create(PROPS, 'SettingsNew'), NAME);
    expect(h.iot.tagsOf(NAME)![OWNER]).toBe('FleetStack/SettingsNew/11111111');

    h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    const writesBefore = h.iot.calls({ method: 'PATCH' }).length;
    const deleted = await remove(PROPS, 'SettingsOld');

    expectSuccess(deleted, NAME);
    expect(h.iot.template(NAME)).toEqual(set);
    expect(h.iot.template(NAME)!.preProvisioningHook?.targetArn).toBe(HOOK.TargetArn);
    expect(h.iot.calls({ method: 'PATCH' })).toHaveLength(writesBefore);
    expect(h.logs.some((l) => /owned by another resource now; left alone/.test(l.message ?? ''))).toBe(true);
    expect(h.iot.tagsOf(NAME)![OWNER]).toBe('FleetStack/SettingsNew/11111111');
  });

  test('the same update rolled back: the new resource gives the template back exactly as the old one left it', async () => {
    seed();
    expectSuccess(await create(PROPS, 'SettingsOld'), NAME);
    const beforeUpdate = h.iot.template(NAME);
    const changed = settings({
      ...PROPS,
      Description: 'changed by the failed update',
      Enabled: 'false',
      DefaultVersionId: '3',
      PreProvisioningHook: { ...HOOK, TargetArn: functionArn('NewHook') },
    });
    expectSuccess(await create(changed, 'SettingsNew'), NAME);
    expect(h.iot.template(NAME)).toEqual(asked(beforeUpdate!, changed));

    h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS';
    expectSuccess(await remove(changed, 'SettingsNew'), NAME);

    expect(h.iot.template(NAME)).toEqual(beforeUpdate);
    // The old resource owns it again. (Its own record went with the takeover: it served only the deployment that created it.)
    expect(h.iot.tagsOf(NAME)).toEqual({ [OWNER]: 'FleetStack/SettingsOld/11111111', [HOOK_TAG]: HOOK.TargetArn });
  });
});

describe('a takeover that goes wrong hands the template back', () => {
  test('a rename keeping the same hook, rolled back: the hook stays, as the old resource set it', async () => {
    seed();
    expectSuccess(await create(PROPS, 'SettingsOld'), NAME);
    const beforeUpdate = h.iot.template(NAME);
    expectSuccess(await create(PROPS, 'SettingsNew'), NAME);

    h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS';
    expectSuccess(await remove(PROPS, 'SettingsNew'), NAME);

    expect(h.iot.template(NAME)).toEqual(beforeUpdate);
    expect(h.iot.template(NAME)!.preProvisioningHook?.targetArn).toBe(HOOK.TargetArn);
    expect(h.iot.tagsOf(NAME)![OWNER]).toBe('FleetStack/SettingsOld/11111111');
  });

  test('a Create whose write is refused gives the template back at once, so the old owner can still take its hook off', async () => {
    seed();
    expectSuccess(await create(PROPS, 'SettingsOld'), NAME);
    const set = h.iot.template(NAME);
    const tags = h.iot.tagsOf(NAME);

    // Version 9 does not exist: AWS IoT refuses the write, which changed nothing.
    const failed = await create(settings({ ...PROPS, DefaultVersionId: '9' }), 'SettingsNew');
    expectFailed(failed, CREATE_FAILED_MARKER);
    expect(h.iot.template(NAME)).toEqual(set);
    // The tags exactly as they were: the owner, its hook and its record.
    expect(h.iot.tagsOf(NAME)).toEqual(tags);

    // The rollback's Delete of the new resource does nothing; the old one is removed later and takes its hook off.
    expectSuccess(await remove(PROPS, 'SettingsNew'), NAME);
    h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    expectSuccess(await remove(PROPS, 'SettingsOld'), NAME);
    expect(h.iot.template(NAME)!.preProvisioningHook).toBeUndefined();
  });

  test("a rename that drops the hook: the old resource's Delete still takes its hook off (the new owner does not manage it)", async () => {
    seed();
    expectSuccess(await create(PROPS, 'SettingsOld'), NAME);
    const { PreProvisioningHook: _hook, ...withoutHook } = PROPS;
    expectSuccess(await create(settings(withoutHook), 'SettingsNew'), NAME);
    expect(h.iot.tagsOf(NAME)![HOOK_TAG]).toBe('');

    h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    expectSuccess(await remove(PROPS, 'SettingsOld'), NAME);

    expect(h.iot.template(NAME)!.preProvisioningHook).toBeUndefined();
    expect(h.iot.tagsOf(NAME)![OWNER]).toBe('FleetStack/SettingsNew/11111111');
  });
});

test('a construct moved to another stack: the old stack deletes its resource after the new one took over; the hook stays', async () => {
  seed();
  expectSuccess(await create(PROPS, 'Settings', STACK_A), NAME);
  expectSuccess(await create(PROPS, 'Settings', STACK_B), NAME);
  const set = h.iot.template(NAME);

  h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
  expectSuccess(await remove(PROPS, 'Settings', STACK_A), NAME);

  expect(h.iot.template(NAME)).toEqual(set);
  expect(h.iot.template(NAME)!.preProvisioningHook?.targetArn).toBe(HOOK.TargetArn);
  expect(h.iot.tagsOf(NAME)![OWNER]).toBe('OtherStack/Settings/22222222');
});

test('a failed first deploy: the Create succeeds, the rollback deletes it, and every setting is as before the Create', async () => {
  const before = seed();
  const created = await create(PROPS, 'Settings');
  expectSuccess(created, NAME);
  expect(h.iot.template(NAME)).toEqual(asked(before, PROPS));

  h.cfnApi.stackStatus = 'ROLLBACK_IN_PROGRESS';
  expectSuccess(await remove(PROPS, 'Settings'), NAME);

  // Description, enabled, default version, role and someone else's hook: all back.
  expect(h.iot.template(NAME)).toEqual(before);
  expect(h.iot.tagsOf(NAME)).toEqual({});
});

test('a failed first deploy whose role cannot be put back (not one the handler may pass): everything else is back, and the Delete fails naming the role', async () => {
  const before = seed();
  expectSuccess(await create(PROPS, 'Settings'), NAME);
  h.iot.unpassableRoles.add(before.provisioningRoleArn);

  h.cfnApi.stackStatus = 'ROLLBACK_IN_PROGRESS';
  const deleted = await remove(PROPS, 'Settings');

  const reason = expectFailed(deleted, NAME);
  expect(reason).toMatch(
    /UpdateProvisioningTemplate on provisioning template "FleetTemplate" failed.*iam:PassRole.*OriginalProvisioningRole/,
  );
  // The rest is back; the template keeps the role the deployment set until someone sets it back.
  expect(h.iot.template(NAME)).toEqual({ ...before, provisioningRoleArn: PROPS.ProvisioningRoleArn });
});

test('an owner tag naming this resource but a record that cannot be read (a crash between tag writes): the previous owner counts as unknown', async () => {
  const before = seed();
  h.iot.setTag(NAME, OWNER, 'FleetStack/Settings/11111111');
  h.iot.setTag(NAME, 'iot-provisioning-template-settings:before:0', 'not-a-record');
  expectSuccess(await create(PROPS, 'Settings'), NAME);

  h.cfnApi.stackStatus = 'ROLLBACK_IN_PROGRESS';
  expectSuccess(await remove(PROPS, 'Settings'), NAME);

  // Set back from what the template had when this delivery found it, and given back to nobody.
  expect(h.iot.template(NAME)).toEqual(before);
  expect(h.iot.tagsOf(NAME)).toEqual({});
});

test('a record left by an earlier life of the same resource (retained, then created again) is not reused', async () => {
  const before = seed();
  h.iot.setTag(NAME, OWNER, 'FleetStack/Settings/11111111');
  const ancient = recordTags({
    description: 'years ago',
    enabled: true,
    request: 'an-earlier-create',
    props: propsDigest(PROPS),
  });
  for (const [key, value] of Object.entries(ancient)) h.iot.setTag(NAME, key, value);
  expectSuccess(await create(PROPS, 'Settings'), NAME);

  h.cfnApi.stackStatus = 'ROLLBACK_IN_PROGRESS';
  expectSuccess(await remove(PROPS, 'Settings'), NAME);

  expect(h.iot.template(NAME)).toEqual(before);
  expect(h.iot.tagsOf(NAME)).toEqual({});
});

test('a second delivery of the same Create reuses the record the first one wrote', async () => {
  const before = seed();
  const event = inStack(h.createEvent(PROPS, 'Settings'));
  expectSuccess(await h.send(event), NAME);
  expectSuccess(await h.send(event), NAME);

  h.cfnApi.stackStatus = 'ROLLBACK_IN_PROGRESS';
  expectSuccess(await remove(PROPS, 'Settings'), NAME);

  expect(h.iot.template(NAME)).toEqual(before);
});

describe('a Delete outside a rollback keeps the contract: our hook off, the rest as it is', () => {
  test.each(['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'DELETE_IN_PROGRESS'])('stack %s', async (stackStatus) => {
    seed();
    expectSuccess(await create(PROPS, 'Settings'), NAME);
    const set = h.iot.template(NAME)!;

    h.cfnApi.stackStatus = stackStatus;
    const deleted = await remove(PROPS, 'Settings');

    expectSuccess(deleted, NAME);
    const { preProvisioningHook: _hook, ...rest } = set;
    expect(h.iot.template(NAME)).toEqual(rest);
    // enabled sent as the template has it: never left to what an absent enabled means.
    expect(deleted.iotRequests.filter((r) => r.method === 'PATCH').map((r) => r.body)).toEqual([
      { removePreProvisioningHook: true, enabled: set.enabled },
    ]);
    expect(h.iot.tagsOf(NAME)).toEqual({});
  });
});

describe('an owner tag removed or changed out of band', () => {
  test('removed: a clear log line, and our hook removed because it is ours', async () => {
    seed();
    expectSuccess(await create(PROPS, 'Settings'), NAME);
    h.iot.setTag(NAME, OWNER, undefined);

    h.cfnApi.stackStatus = 'DELETE_IN_PROGRESS';
    expectSuccess(await remove(PROPS, 'Settings'), NAME);

    expect(h.iot.template(NAME)!.preProvisioningHook).toBeUndefined();
    expect(h.logs.some((l) => /not the owner: our hook off/.test(l.message ?? ''))).toBe(true);
  });

  test("removed, and the hook is someone else's: left alone, said so", async () => {
    seed();
    expectSuccess(await create(PROPS, 'Settings'), NAME);
    h.iot.setTag(NAME, OWNER, undefined);
    h.iot.modifyTemplate(NAME, {
      preProvisioningHook: { targetArn: functionArn('Theirs'), payloadVersion: '2020-04-01' },
    });

    h.cfnApi.stackStatus = 'DELETE_IN_PROGRESS';
    expectSuccess(await remove(PROPS, 'Settings'), NAME);

    expect(h.iot.template(NAME)!.preProvisioningHook?.targetArn).toBe(functionArn('Theirs'));
    expect(h.logs.some((l) => /hook that this resource did not set; left alone/.test(l.message ?? ''))).toBe(true);
  });

  test('changed to another owner: a clear log line, nothing written, no crash', async () => {
    seed();
    expectSuccess(await create(PROPS, 'Settings'), NAME);
    const set = h.iot.template(NAME);
    h.iot.setTag(NAME, OWNER, 'SomeoneElse/Resource');

    h.cfnApi.stackStatus = 'ROLLBACK_IN_PROGRESS';
    const deleted = await remove(PROPS, 'Settings');

    expectSuccess(deleted, NAME);
    expect(h.iot.template(NAME)).toEqual(set);
    expect(deleted.iotRequests).toEqual([]);
    expect(
      h.logs.some((l) => /owned by another resource now/.test(l.message ?? '') && l.owner === 'SomeoneElse/Resource'),
    ).toBe(true);
  });
});

describe('provisioningRole dropped from the props', () => {
  const inApp = settings({ ...PROPS, ProvisioningRoleInApp: 'true' });
  const { ProvisioningRoleArn: _role, ProvisioningRoleInApp: _inApp, ...withoutRole } = inApp;

  test('a role this app defines, still on the template: the Update fails and says what to do; nothing changes', async () => {
    seed();
    expectSuccess(await h.create(inApp), NAME);
    const set = h.iot.template(NAME);

    const updated = await h.update(NAME, settings(withoutRole), inApp);

    const reason = expectFailed(updated, NAME);
    expect(reason).toMatch(
      /^Provisioning template "FleetTemplate": provisioningRole was removed from the props, but the template still uses arn:\S+StackProvisioningRole, which this app defines and this deployment may delete.*Set provisioningRole to the role the template should use now\. Nothing was changed\.$/,
    );
    expect(h.iot.template(NAME)).toEqual(set);
  });

  test('an imported role: left as it is, and logged as no longer managed', async () => {
    seed();
    expectSuccess(await h.create(PROPS), NAME);
    const { ProvisioningRoleArn: _r, ...rest } = PROPS;

    expectSuccess(await h.update(NAME, settings(rest), PROPS), NAME);

    expect(h.iot.template(NAME)!.provisioningRoleArn).toBe(PROPS.ProvisioningRoleArn);
    expect(
      h.logs.some(
        (l) =>
          /no longer managed, left as it is/.test(l.message ?? '') &&
          JSON.stringify(l.noLongerManaged) === '["provisioningRoleArn"]',
      ),
    ).toBe(true);
  });
});
