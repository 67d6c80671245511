/**
 * Moves between stacks that are abandoned or interrupted, renames rolled
 * back, and takeovers that fail: cases an independent review of the
 * read-decide-act handler found (each failed on the first version of it),
 * then cases the random histories found once they cancelled events,
 * redelivered them after the answer, and moved copies with other properties
 * (each failed on b01bc57 unless it says otherwise). The handler's modules
 * over HTTP against the local fakes.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { CREATE_FAILED_MARKER, expectFailed, expectSuccess, FAST_SETTINGS, settings, WireHarness } from './support/cfn';
import { AS_IT_WAS, functionArn } from './support/fake-iot';

const h = WireHarness.install(FAST_SETTINGS, true);

const NAME = 'FleetTemplate';
const stack = (name: string, id: string) =>
  `arn:aws:cloudformation:eu-west-1:123456789012:stack/${name}/${id}-0000-4000-8000-000000000000`;
const [A, B, C] = [stack('Fleet', '11111111'), stack('Other', '22222222'), stack('Third', '33333333')];
const H1 = { TargetArn: functionArn('HookOne'), PayloadVersion: '2020-04-01' };
const H2 = { TargetArn: functionArn('HookTwo'), PayloadVersion: '2020-04-01' };
const P1 = settings({ TemplateName: NAME, PreProvisioningHook: H1 });

const at = <E extends CloudFormationCustomResourceEvent>(event: E, stackId: string): E => ({
  ...event,
  StackId: stackId,
});
const PREFIX = 'iot-provisioning-template-settings:';
const OWNER = `${PREFIX}owner`;
const hookOn = (name = NAME) => h.iot.template(name)!.preProvisioningHook?.targetArn;

/** X in stack A, then Y in stack B takes the template over (a move from A to B started). */
async function moveStarted(props = P1): Promise<void> {
  h.cfnApi.stackStatus = 'CREATE_IN_PROGRESS';
  expectSuccess(await h.send(at(h.createEvent(props, 'S'), A)), props.TemplateName);
  expectSuccess(await h.send(at(h.createEvent(props, 'S'), B)), props.TemplateName);
}

test("an abandoned move after the new owner changed its hook: the old owner's hook goes back, then comes off with it", async () => {
  h.iot.putTemplate(NAME, AS_IT_WAS);
  await moveStarted();
  const p2 = settings({ TemplateName: NAME, PreProvisioningHook: H2 });
  const p3 = settings({ ...p2, Description: 'new' });
  h.cfnApi.stackStatus = 'UPDATE_IN_PROGRESS';
  expectSuccess(await h.send(at(h.updateEvent(NAME, p2, P1, 'S'), B)), NAME);
  expectSuccess(await h.send(at(h.updateEvent(NAME, p3, p2, 'S'), B)), NAME); // a new record, same owner

  h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
  expectSuccess(await h.send(at(h.deleteEvent(NAME, p3, 'S'), B)), NAME); // the move abandoned
  expect(hookOn()).toBe(H1.TargetArn);
  expect(h.iot.tagsOf(NAME)!['iot-provisioning-template-settings:owner']).toBe('Fleet/S/11111111');

  h.cfnApi.stackStatus = 'DELETE_IN_PROGRESS';
  expectSuccess(await h.send(at(h.deleteEvent(NAME, P1, 'S'), A)), NAME);
  expect(hookOn()).toBeUndefined();
  expect(h.iot.tagsOf(NAME)).toEqual({});
});

test('the old owner updated while the move is abandoned takes the template back, and never hands it to itself', async () => {
  h.iot.putTemplate(NAME, AS_IT_WAS);
  await moveStarted();
  const p2 = settings({ ...P1, Description: 'changed' });
  h.cfnApi.stackStatus = 'UPDATE_IN_PROGRESS';
  expectSuccess(await h.send(at(h.updateEvent(NAME, p2, P1, 'S'), A)), NAME);
  h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
  expectSuccess(await h.send(at(h.deleteEvent(NAME, P1, 'S'), B)), NAME);
  expect(hookOn()).toBe(H1.TargetArn);

  h.cfnApi.stackStatus = 'DELETE_IN_PROGRESS';
  expectSuccess(await h.send(at(h.deleteEvent(NAME, p2, 'S'), A)), NAME);
  expect(hookOn()).toBeUndefined();
  expect(h.iot.tagsOf(NAME)).toEqual({});
});

test('a third takeover refused by AWS IoT leaves the tags exactly as they were, so the move can still be abandoned', async () => {
  h.iot.putTemplate(NAME, AS_IT_WAS);
  await moveStarted();
  const tags = h.iot.tagsOf(NAME);
  const refused = settings({ TemplateName: NAME, DefaultVersionId: '99' });
  expectFailed(await h.send(at(h.createEvent(refused, 'S'), C)), CREATE_FAILED_MARKER);
  expect(h.iot.tagsOf(NAME)).toEqual(tags);

  h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
  expectSuccess(await h.send(at(h.deleteEvent(NAME, P1, 'S'), B)), NAME);
  expect(hookOn()).toBe(H1.TargetArn);
});

test('a rename rolled back keeps the previous owner of the old template', async () => {
  h.iot.putTemplate('T1', AS_IT_WAS);
  h.iot.putTemplate('T2', AS_IT_WAS);
  const p1 = settings({ TemplateName: 'T1', PreProvisioningHook: H1 });
  const p2 = settings({ TemplateName: 'T2', PreProvisioningHook: H1 });
  await moveStarted(p1);
  h.cfnApi.stackStatus = 'UPDATE_IN_PROGRESS';
  expectSuccess(await h.send(at(h.updateEvent('T1', p2, p1, 'S'), B)), 'T2');
  h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
  expectSuccess(await h.send(at(h.updateEvent('T2', p1, p2, 'S'), B)), 'T1');
  h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS';
  expectSuccess(await h.send(at(h.deleteEvent('T2', p2, 'S'), B)), 'T2');
  expect(hookOn('T2')).toBeUndefined();
  expect(h.iot.tagsOf('T2')).toEqual({});

  h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
  expectSuccess(await h.send(at(h.deleteEvent('T1', p1, 'S'), B)), 'T1'); // the move abandoned
  expect(hookOn('T1')).toBe(H1.TargetArn);
});

test("a rename's rollback to a template deleted out of band succeeds: there is nothing to put back", async () => {
  h.iot.putTemplate('T1', AS_IT_WAS);
  h.iot.putTemplate('T2', AS_IT_WAS);
  const p1 = settings({ TemplateName: 'T1', PreProvisioningHook: H1 });
  const p2 = settings({ TemplateName: 'T2', PreProvisioningHook: H1 });
  h.cfnApi.stackStatus = 'CREATE_IN_PROGRESS';
  expectSuccess(await h.send(at(h.createEvent(p1, 'S'), A)), 'T1');
  h.cfnApi.stackStatus = 'UPDATE_IN_PROGRESS';
  expectSuccess(await h.send(at(h.updateEvent('T1', p2, p1, 'S'), A)), 'T2');
  h.iot.deleteTemplate('T1');

  h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
  expectSuccess(await h.send(at(h.updateEvent('T2', p1, p2, 'S'), A)), 'T1');
});

test("a cancelled Update that ran after its rollback, undone, leaves the owner's hook tag as it was: the move's end keeps the hook", async () => {
  h.iot.putTemplate(NAME, AS_IT_WAS);
  await moveStarted();
  const none = settings({ TemplateName: NAME });
  // B's deployment drops the hook and fails; CloudFormation cancels that Update and rolls it back first.
  h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
  expectSuccess(await h.send(at(h.updateEvent(NAME, P1, none, 'S'), B)), NAME);
  const cancelled = await h.send(at(h.updateEvent(NAME, none, P1, 'S'), B), { ignored: true });
  expect(cancelled.response?.Reason).toMatch(/stopped updating this resource while it was being written/);
  expect(hookOn()).toBe(H1.TargetArn);
  expect(h.iot.tagsOf(NAME)![`${PREFIX}hook`]).toBe(H1.TargetArn);

  h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
  expectSuccess(await h.send(at(h.deleteEvent(NAME, P1, 'S'), A)), NAME); // the move finished
  expect(hookOn()).toBe(H1.TargetArn);
});

test("an abandoned move whose new copy dropped the hook: the old copy's hook goes back on", async () => {
  h.iot.putTemplate(NAME, AS_IT_WAS);
  await moveStarted();
  const noHook = settings({ TemplateName: NAME, Description: 'new' });
  h.cfnApi.stackStatus = 'UPDATE_IN_PROGRESS';
  expectSuccess(await h.send(at(h.updateEvent(NAME, noHook, P1, 'S'), B)), NAME);
  expect(hookOn()).toBeUndefined();

  h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
  expectSuccess(await h.send(at(h.deleteEvent(NAME, noHook, 'S'), B)), NAME); // the move abandoned
  expect(hookOn()).toBe(H1.TargetArn);
  expect(h.iot.tagsOf(NAME)![OWNER]).toBe('Fleet/S/11111111');
});

// Passes on b01bc57 too: it keeps the fix above from putting back the older record, which the rollback's Update
// would then not know as the record of the Update it rolls back.
test('a cancelled Update that ran before its rollback, undone: the rollback still puts back the hook the template had', async () => {
  h.iot.putTemplate(NAME, AS_IT_WAS);
  const described = settings({ TemplateName: NAME, Description: 'd' });
  h.cfnApi.stackStatus = 'CREATE_IN_PROGRESS';
  expectSuccess(await h.send(at(h.createEvent(P1, 'S'), A)), NAME);
  expectSuccess(await h.send(at(h.createEvent(described, 'S'), B)), NAME); // H1 left on

  // B's deployment adds the hook and fails; CloudFormation cancels that Update, which runs first.
  h.cfnApi.setStatus('S', 'UPDATE_FAILED');
  h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
  const cancelled = await h.send(at(h.updateEvent(NAME, P1, described, 'S'), B), { ignored: true });
  expect(cancelled.response?.Reason).toMatch(/stopped updating this resource while it was being written/);
  expectSuccess(await h.send(at(h.updateEvent(NAME, described, P1, 'S'), B)), NAME);
  expect(hookOn()).toBe(H1.TargetArn);
});

describe('a failed Update of the new copy that adds the hook the old copy manages (two copies mid-move)', () => {
  const described = settings({ TemplateName: NAME, Description: 'd' });

  test('cancelled, and run after its rollback: the old copy keeps its hook', async () => {
    h.iot.putTemplate(NAME, AS_IT_WAS);
    h.cfnApi.stackStatus = 'CREATE_IN_PROGRESS';
    expectSuccess(await h.send(at(h.createEvent(P1, 'S'), A)), NAME);
    expectSuccess(await h.send(at(h.createEvent(described, 'S'), B)), NAME); // H1 left on
    const owner = (tags = h.iot.tagsOf(NAME)!) => [tags[OWNER], tags[`${PREFIX}hook`]];
    const before = owner();

    // The rollback's Update runs while the cancelled Update still waits in Lambda's queue.
    h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
    expectSuccess(await h.send(at(h.updateEvent(NAME, described, P1, 'S'), B)), NAME);
    expect(hookOn()).toBe(H1.TargetArn);
    const cancelled = await h.send(at(h.updateEvent(NAME, P1, described, 'S'), B), { ignored: true });
    expect(cancelled.response?.Reason).toMatch(/stopped updating this resource while it was being written/);
    expect(hookOn()).toBe(H1.TargetArn);
    expect(owner()).toEqual(before);
  });

  test("rolled back, the rollback's Update delivered twice: the old copy keeps its hook", async () => {
    h.iot.putTemplate(NAME, AS_IT_WAS);
    h.cfnApi.stackStatus = 'CREATE_IN_PROGRESS';
    expectSuccess(await h.send(at(h.createEvent(P1, 'S'), A)), NAME);
    expectSuccess(await h.send(at(h.createEvent(described, 'S'), B)), NAME);
    h.cfnApi.stackStatus = 'UPDATE_IN_PROGRESS';
    expectSuccess(await h.send(at(h.updateEvent(NAME, P1, described, 'S'), B)), NAME);

    h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
    const back = at(h.updateEvent(NAME, described, P1, 'S'), B);
    expectSuccess(await h.send(back), NAME);
    expectSuccess(await h.send(back), NAME); // at once: CloudFormation still waits for an answer
    expect(hookOn()).toBe(H1.TargetArn);
  });
});
