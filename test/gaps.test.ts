/**
 * Issue 16's protection gaps, each as CloudFormation would drive it: the
 * handler's TypeScript modules over HTTP against the local IoT and
 * CloudFormation fakes. Each of these failed on 3e5cb81.
 */
import { App, Stack } from 'aws-cdk-lib';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { SettingsProperties } from '../lib/handler-contract';
import { ProvisioningTemplateSettings } from '../lib';
import { CREATE_FAILED_MARKER, expectFailed, expectSuccess, FAST_SETTINGS, settings, WireHarness } from './support/cfn';
import { AS_IT_WAS, EARLIER, functionArn, roleArn } from './support/fake-iot';

const h = WireHarness.install(FAST_SETTINGS, true);

const NAME = 'FleetTemplate';
const OWNER = 'iot-provisioning-template-settings:owner';
const PARENT = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Fleet/11111111-0000-4000-8000-000000000000';
const NESTED =
  'arn:aws:cloudformation:eu-west-1:123456789012:stack/Fleet-DevicesNestedStack-1AB/33333333-0000-4000-8000-000000000000';
const HOOK = { TargetArn: functionArn('DeviceCheck'), PayloadVersion: '2020-04-01' };

const at = <E extends CloudFormationCustomResourceEvent>(event: E, stackId = PARENT): E => ({
  ...event,
  StackId: stackId,
});
const create = (props: SettingsProperties, id = 'Settings', stack = PARENT) =>
  h.send(at(h.createEvent(props, id), stack));
const update = (props: SettingsProperties, old: SettingsProperties, id = 'Settings') =>
  h.send(at(h.updateEvent(NAME, props, old, id)));
const remove = (props: SettingsProperties, id = 'Settings', stack = PARENT) =>
  h.send(at(h.deleteEvent(NAME, props, id), stack));

describe('gap 1: an Update that starts managing a setting, rolled back, puts that setting back', () => {
  test("a hook added to the props: the template gets back the hook it had (someone else's)", async () => {
    const before = h.iot.putTemplate(NAME, EARLIER);
    const v1 = settings({ TemplateName: NAME, Description: 'managed' });
    const v2 = settings({ ...v1, PreProvisioningHook: HOOK });
    expectSuccess(await create(v1), NAME);
    expectSuccess(await update(v2, v1), NAME);
    expect(h.iot.template(NAME)!.preProvisioningHook?.targetArn).toBe(HOOK.TargetArn);

    h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
    expectSuccess(await update(v1, v2), NAME);

    expect(h.iot.template(NAME)!.preProvisioningHook).toEqual(before.preProvisioningHook);
  });

  test('enabled added and switched on: disabled again after the rollback', async () => {
    h.iot.putTemplate(NAME, AS_IT_WAS);
    const v1 = settings({ TemplateName: NAME, Description: 'managed' });
    const v2 = settings({ ...v1, Enabled: 'true', DefaultVersionId: '3' });
    expectSuccess(await create(v1), NAME);
    expectSuccess(await update(v2, v1), NAME);
    expect(h.iot.template(NAME)).toMatchObject({ enabled: true, defaultVersionId: 3 });

    h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
    expectSuccess(await update(v1, v2), NAME);

    expect(h.iot.template(NAME)).toMatchObject({ enabled: false, defaultVersionId: 1, description: 'managed' });
  });

  test('the same Update back outside a rollback: the hook comes off, enabled stays (no longer managed)', async () => {
    h.iot.putTemplate(NAME, EARLIER);
    const v1 = settings({ TemplateName: NAME, Description: 'managed' });
    const v2 = settings({ ...v1, Enabled: 'true', PreProvisioningHook: HOOK });
    expectSuccess(await create(v1), NAME);
    expectSuccess(await update(v2, v1), NAME);

    h.cfnApi.stackStatus = 'UPDATE_IN_PROGRESS';
    expectSuccess(await update(v1, v2), NAME);

    expect(h.iot.template(NAME)).toMatchObject({ enabled: true });
    expect(h.iot.template(NAME)!.preProvisioningHook).toBeUndefined();
  });
});

describe('gap 2: nested stacks ask their root', () => {
  test('a construct moved into a new nested stack, whose deployment fails: the parent keeps its hook', async () => {
    h.iot.putTemplate(NAME, AS_IT_WAS);
    const props = settings({ TemplateName: NAME, Enabled: 'true', PreProvisioningHook: HOOK });
    expectSuccess(await create(props, 'Settings', PARENT), NAME);
    expectSuccess(await create(props, 'Settings', NESTED), NAME);
    expect(h.iot.tagsOf(NAME)![OWNER]).toBe('Fleet-DevicesNestedStack-1AB/Settings/33333333');

    // The parent's rollback deletes the nested stack it had just created.
    h.cfnApi.stacks.set(NESTED, { status: 'DELETE_IN_PROGRESS', rootId: PARENT });
    h.cfnApi.stacks.set(PARENT, { status: 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS' });
    const deleted = await remove(props, 'Settings', NESTED);

    expectSuccess(deleted, NAME);
    expect(h.iot.template(NAME)!.preProvisioningHook?.targetArn).toBe(HOOK.TargetArn);
    expect(h.iot.tagsOf(NAME)![OWNER]).toBe('Fleet/Settings/11111111');
    // One more CloudFormation call than a stack of its own: the root's status.
    expect(deleted.cfnRequests.filter((r) => r.action === 'DescribeStacks').map((r) => r.params.StackName)).toEqual([
      NESTED,
      PARENT,
    ]);
  });

  test('a nested stack deleted by a deployment that succeeds: a plain delete, the hook comes off', async () => {
    h.iot.putTemplate(NAME, AS_IT_WAS);
    const props = settings({ TemplateName: NAME, PreProvisioningHook: HOOK });
    expectSuccess(await create(props, 'Settings', NESTED), NAME);

    h.cfnApi.stacks.set(NESTED, { status: 'DELETE_IN_PROGRESS', rootId: PARENT });
    h.cfnApi.stacks.set(PARENT, { status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS' });
    expectSuccess(await remove(props, 'Settings', NESTED), NAME);

    expect(h.iot.template(NAME)!.preProvisioningHook).toBeUndefined();
    expect(h.iot.tagsOf(NAME)).toEqual({});
  });
});

test('gap 3: the custom resource carries aws:cdk:do-not-refactor, so `cdk refactor` moves it by replacement', () => {
  const app = new App();
  const stack = new Stack(app, 'Fleet');
  new ProvisioningTemplateSettings(stack, 'Settings', { templateName: NAME, enabled: true });
  const found = app.synth().getStackArtifact('Fleet').findMetadataByType('aws:cdk:do-not-refactor');
  expect(found).toEqual([{ path: '/Fleet/Settings/Resource/Default', type: 'aws:cdk:do-not-refactor', data: true }]);
});

describe('gap 4: a takeover that fails half-way', () => {
  test('tags written, the rest refused: the template goes back to its owner, whose Delete then takes its hook off', async () => {
    h.iot.putTemplate(NAME, { ...AS_IT_WAS, description: 'd'.repeat(500) });
    const props = settings({ TemplateName: NAME, Description: 'managed', PreProvisioningHook: HOOK });
    expectSuccess(await create(props, 'SettingsOld'), NAME);
    const ownerBefore = h.iot.tagsOf(NAME)![OWNER];

    // The old owner's record has more pieces than the new one: the new Create's UntagResource is refused.
    h.iot.injectTags('UntagResource', { status: 400, errorType: 'InvalidRequestException', message: 'refused' });
    const failed = await create(props, 'SettingsNew');
    expectFailed(failed, CREATE_FAILED_MARKER);
    expect(h.iot.tagsOf(NAME)![OWNER]).toBe(ownerBefore);

    expectSuccess(await remove(props, 'SettingsNew'), NAME);
    h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    expectSuccess(await remove(props, 'SettingsOld'), NAME);
    expect(h.iot.template(NAME)!.preProvisioningHook).toBeUndefined();
  });

  test('and the hand-back refused too: the Create says it changed something, and its rollback hands back', async () => {
    h.iot.putTemplate(NAME, { ...AS_IT_WAS, description: 'd'.repeat(500) });
    const props = settings({ TemplateName: NAME, Description: 'managed', PreProvisioningHook: HOOK });
    expectSuccess(await create(props, 'SettingsOld'), NAME);
    const ownerBefore = h.iot.tagsOf(NAME)![OWNER];

    const refused = { status: 400, errorType: 'InvalidRequestException', message: 'refused' };
    h.iot.injectTags('UntagResource', refused);
    // The tags' hand-back (a TagResource after the refused UntagResource) is refused too.
    h.onLog(
      (l) => l.message === 'UntagResource',
      () => h.iot.injectTags('TagResource', refused),
    );
    expectFailed(await create(props, 'SettingsNew'), NAME);

    h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS';
    expectSuccess(await remove(props, 'SettingsNew'), NAME);
    expect(h.iot.tagsOf(NAME)![OWNER]).toBe(ownerBefore);
    expect(h.iot.template(NAME)!.preProvisioningHook?.targetArn).toBe(HOOK.TargetArn);
  });
});

describe('gap 5: an Update of a template deleted out of band', () => {
  const v1 = settings({ TemplateName: NAME, Enabled: 'true' });
  const v2 = settings({ TemplateName: NAME, Enabled: 'false' });

  test('in a rollback: success, and a log line (there is nothing to put back)', async () => {
    h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
    expectSuccess(await update(v1, v2), NAME);
    expect(h.logs.some((l) => /template gone; nothing to roll back/.test(l.message ?? ''))).toBe(true);
  });

  test('outside a rollback: the clear failure stays', async () => {
    h.cfnApi.stackStatus = 'UPDATE_IN_PROGRESS';
    expect(expectFailed(await update(v2, v1), NAME)).toMatch(/"FleetTemplate" does not exist\. Create it first/);
  });
});

describe('gap 6: a rollback that cannot pass the earlier role', () => {
  const props = settings({ TemplateName: NAME, Enabled: 'true', ProvisioningRoleArn: roleArn('StackRole') });

  /** A first deploy sets the stack's role; its rollback's Delete may not pass the template's earlier one. */
  async function rollbackRefused() {
    const before = h.iot.putTemplate(NAME, EARLIER);
    expectSuccess(await create(props), NAME);
    h.iot.unpassableRoles.add(before.provisioningRoleArn);
    h.cfnApi.stackStatus = 'ROLLBACK_IN_PROGRESS';
    return { before, reason: expectFailed(await remove(props), NAME) };
  }

  test('names the role and the command, and the stack deletion after it keeps the record', async () => {
    const { before, reason } = await rollbackRefused();
    expect(reason).toContain(`The template's earlier provisioning role is ${before.provisioningRoleArn}`);
    expect(reason).toContain(`--template-name ${NAME} --provisioning-role-arn ${before.provisioningRoleArn}`);
    expect(h.iot.template(NAME)).toMatchObject({ enabled: false, provisioningRoleArn: roleArn('StackRole') });

    // ROLLBACK_FAILED, then the stack is deleted.
    h.cfnApi.stackStatus = 'DELETE_IN_PROGRESS';
    expectSuccess(await remove(props), NAME);
    const tags = h.iot.tagsOf(NAME)!;
    expect(tags['iot-provisioning-template-settings:pending-role']).toBe(before.provisioningRoleArn);
    expect(Object.keys(tags).some((key) => key.startsWith('iot-provisioning-template-settings:before:'))).toBe(true);
    expect(h.logs.some((l) => /earlier role never put back; record kept/.test(l.message ?? ''))).toBe(true);
  });

  test('once the role may be passed, continuing the rollback puts it back and clears the tags', async () => {
    const { before } = await rollbackRefused();
    h.iot.unpassableRoles.clear();
    expectSuccess(await remove(props), NAME);
    expect(h.iot.template(NAME)).toEqual(before);
    expect(h.iot.tagsOf(NAME)).toEqual({});
  });
});
