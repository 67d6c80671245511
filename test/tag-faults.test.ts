/**
 * Faults of the tagging calls (ListTagsForResource, TagResource,
 * UntagResource) and ListTagsForResource's pages, as CloudFormation would
 * drive them: the handler's TypeScript modules over HTTP against the local
 * IoT and CloudFormation fakes. What a fault does depends on where it hits
 * (lambda/settings.ts, carryOut): before anything changed, a Create answers
 * with the marker id; after a write, the event fails with the template's id
 * and a later Delete or retry finishes the job.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { SettingsProperties } from '../lib/handler-contract';
import { readOwnership } from '../lambda/record';
import { CREATE_FAILED_MARKER, expectFailed, expectSuccess, FAST_SETTINGS, settings, WireHarness } from './support/cfn';
import type { Fault } from './support/local-server';
import { EARLIER, faults, functionArn, TagRequest } from './support/fake-iot';

const h = WireHarness.install(FAST_SETTINGS, true);

const NAME = 'FleetTemplate';
const OWNER = 'iot-provisioning-template-settings:owner';
const HOOK_TAG = 'iot-provisioning-template-settings:hook';
const STACK = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Fleet/11111111-0000-4000-8000-000000000000';
const ME = 'Fleet/Settings/11111111';
const OLD = 'Fleet/SettingsOld/11111111';
const HOOK = { TargetArn: functionArn('DeviceCheck'), PayloadVersion: '2020-04-01' };
const PROPS = settings({ TemplateName: NAME, Enabled: 'true', PreProvisioningHook: HOOK });
/** Other settings than SettingsOld's, for a Create that takes the template over. */
const NEW = settings({ ...PROPS, Enabled: 'false' });
const MESSAGE = 'Tagging is paused for this resource.';
const REFUSED: Fault = { status: 400, errorType: 'InvalidRequestException', message: MESSAGE };
const refusal = (operation: TagRequest['operation']) =>
  `${operation} on provisioning template "${NAME}" failed: InvalidRequestException: ${MESSAGE}`;

const at = <E extends CloudFormationCustomResourceEvent>(event: E): E => ({ ...event, StackId: STACK });
const create = (props = PROPS, id = 'Settings', timeoutMs?: number) =>
  h.send(at(h.createEvent(props, id)), { timeoutMs });
const update = (props: SettingsProperties, old: SettingsProperties) => h.send(at(h.updateEvent(NAME, props, old)));
const remove = (props = PROPS, id = 'Settings') => h.send(at(h.deleteEvent(NAME, props, id)));
const calls = (operation: TagRequest['operation'], from = 0) =>
  h.iot.tagRequests.slice(from).filter((r) => r.operation === operation);
const retried = (operation: string) => h.logs.filter((l) => l.message === 'retrying' && l.operation === operation);
const hook = () => h.iot.template(NAME)!.preProvisioningHook?.targetArn;

/** A template with this resource's settings and tags on it; the stack then cleans up (a plain Delete). */
async function created(): Promise<void> {
  h.iot.putTemplate(NAME, EARLIER);
  expectSuccess(await create(), NAME);
  h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
}

describe('retried, and the event succeeds', () => {
  // The event that reaches the call: a Create reads the tags and sets ours; the owner's Delete removes them.
  const rows: [TagRequest['operation'], string, Fault][] = [];
  for (const op of ['ListTagsForResource', 'TagResource', 'UntagResource'] as const) {
    rows.push([op, 'throttling', faults.throttling()], [op, '500', faults.internalFailure()]);
    rows.push([op, 'dropped connection', faults.dropConnection()]);
  }
  rows.push([
    'TagResource',
    'access denied while IAM applies the policy',
    { status: 403, errorType: 'AccessDeniedException', message: 'not authorized' },
  ]);

  test.each(rows)('%s: %s', async (operation, _, fault) => {
    if (operation === 'UntagResource') await created();
    else h.iot.putTemplate(NAME, EARLIER);
    h.iot.injectTags(operation, fault);
    const seen = h.iot.tagRequests.length;

    const done = operation === 'UntagResource' ? await remove() : await create();

    expectSuccess(done, NAME);
    expect(calls(operation, seen)).toHaveLength(2);
    expect(retried(operation)).toHaveLength(1);
    if (operation === 'UntagResource') {
      expect(h.iot.tagsOf(NAME)).toEqual({});
      expect(hook()).toBeUndefined();
    } else {
      expect(h.iot.tagsOf(NAME)).toMatchObject({ [OWNER]: ME, [HOOK_TAG]: HOOK.TargetArn });
      expect(hook()).toBe(HOOK.TargetArn);
    }
  });
});

describe('refused (a 4xx that is not retried): the event fails, naming the call, the template and AWS', () => {
  test('ListTagsForResource, Create: nothing changed, the marker id', async () => {
    const before = h.iot.putTemplate(NAME, EARLIER);
    h.iot.injectTags('ListTagsForResource', REFUSED);
    expect(expectFailed(await create(), CREATE_FAILED_MARKER)).toBe(refusal('ListTagsForResource'));
    expect(h.iot.template(NAME)).toEqual(before);
    expect(h.iot.tagsOf(NAME)).toEqual({});
    expect(h.iot.calls({ method: 'PATCH' })).toHaveLength(0);
  });

  test('ListTagsForResource, Delete: nothing changed; the Delete keeps its id', async () => {
    await created();
    const [template, tags] = [h.iot.template(NAME), h.iot.tagsOf(NAME)];
    h.iot.injectTags('ListTagsForResource', REFUSED);
    expect(expectFailed(await remove(), NAME)).toBe(refusal('ListTagsForResource'));
    expect(h.iot.template(NAME)).toEqual(template);
    expect(h.iot.tagsOf(NAME)).toEqual(tags);
  });

  test('TagResource, Create: nothing written, what may have been tagged taken off again, the marker id', async () => {
    const before = h.iot.putTemplate(NAME, EARLIER);
    h.iot.injectTags('TagResource', REFUSED);
    const seen = h.iot.tagRequests.length;
    expect(expectFailed(await create(), CREATE_FAILED_MARKER)).toBe(refusal('TagResource'));
    expect(h.iot.template(NAME)).toEqual(before);
    expect(h.iot.tagsOf(NAME)).toEqual({});
    expect(calls('UntagResource', seen)).toHaveLength(1);
  });

  test("TagResource, a Create taking over: the previous owner's tags set back exactly, the marker id", async () => {
    h.iot.putTemplate(NAME, EARLIER);
    expectSuccess(await create(PROPS, 'SettingsOld'), NAME);
    const before = h.iot.template(NAME);
    const tagsBefore = h.iot.tagsOf(NAME)!;
    expect(tagsBefore).toMatchObject({ [OWNER]: OLD, [HOOK_TAG]: HOOK.TargetArn });
    h.iot.injectTags('TagResource', REFUSED);
    expect(expectFailed(await create(), CREATE_FAILED_MARKER)).toBe(refusal('TagResource'));
    expect(h.iot.template(NAME)).toEqual(before);
    expect(h.iot.tagsOf(NAME)).toEqual(tagsBefore);
  });

  test('TagResource refused, and refused again when putting back: nothing landed, still the marker id', async () => {
    h.iot.putTemplate(NAME, EARLIER);
    expectSuccess(await create(PROPS, 'SettingsOld'), NAME);
    const tags = h.iot.tagsOf(NAME);
    h.iot.injectTags('TagResource', REFUSED, 2);
    expect(expectFailed(await create(), CREATE_FAILED_MARKER)).toBe(refusal('TagResource'));
    expect(h.logs.some((l) => l.message === 'could not put back')).toBe(true);
    // The put-back's UntagResource did not run: the old owner's tags are as they were.
    expect(h.iot.tagsOf(NAME)).toEqual(tags);
  });

  test('TagResource, an Update that starts managing the hook: nothing written; the Update keeps its id', async () => {
    const before = h.iot.putTemplate(NAME, EARLIER);
    const v1 = settings({ TemplateName: NAME, Enabled: 'false' });
    expectSuccess(await create(v1), NAME);
    const tags = h.iot.tagsOf(NAME);
    h.iot.injectTags('TagResource', REFUSED);
    expect(expectFailed(await update(PROPS, v1), NAME)).toBe(refusal('TagResource'));
    expect(h.iot.template(NAME)).toEqual(before);
    expect(h.iot.tagsOf(NAME)).toEqual(tags);
  });

  test("TagResource over AWS's 50 tags a resource: the Create fails, saying so, and changes nothing", async () => {
    const before = h.iot.putTemplate(NAME, EARLIER);
    for (let i = 0; i < 48; i++) h.iot.setTag(NAME, `user-${i}`, 'x');
    const tags = h.iot.tagsOf(NAME);
    const reason = expectFailed(await create(), CREATE_FAILED_MARKER);
    expect(reason).toBe(
      `TagResource on provisioning template "${NAME}" failed: InvalidRequestException: A resource takes at most 50 tags.`,
    );
    expect(h.iot.template(NAME)).toEqual(before);
    expect(h.iot.tagsOf(NAME)).toEqual(tags);
  });

  test('UntagResource, Delete: our hook is off already, the tags stay; a retry of the Delete finishes', async () => {
    await created();
    const tags = h.iot.tagsOf(NAME);
    h.iot.injectTags('UntagResource', REFUSED);
    expect(expectFailed(await remove(), NAME)).toBe(refusal('UntagResource'));
    expect(hook()).toBeUndefined();
    expect(h.iot.tagsOf(NAME)).toEqual(tags);

    expectSuccess(await remove(), NAME);
    expect(h.iot.tagsOf(NAME)).toEqual({});
  });

  test("TagResource, a rollback's Delete that hands the template back: settings back, tags not; the retry hands back", async () => {
    h.iot.putTemplate(NAME, EARLIER);
    expectSuccess(await create(PROPS, 'SettingsOld'), NAME);
    const old = h.iot.template(NAME);
    expectSuccess(await create(NEW), NAME);
    h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS';
    h.iot.injectTags('TagResource', REFUSED);
    expect(expectFailed(await remove(NEW), NAME)).toBe(refusal('TagResource'));
    expect(h.iot.template(NAME)).toEqual(old);
    expect(h.iot.tagsOf(NAME)![OWNER]).toBe(ME);

    expectSuccess(await remove(NEW), NAME);
    expect(h.iot.template(NAME)).toEqual(old);
    expect(h.iot.tagsOf(NAME)).toEqual({ [OWNER]: OLD, [HOOK_TAG]: HOOK.TargetArn });
  });

  test("TagResource, a former owner's Delete signing off from the owner's record: fails, the template untouched", async () => {
    h.iot.putTemplate(NAME, EARLIER);
    expectSuccess(await create(PROPS, 'SettingsOld'), NAME);
    expectSuccess(await create(), NAME);
    expect(readOwnership(h.iot.tagsOf(NAME)!).record?.owner).toBe(OLD);
    const [template, tags] = [h.iot.template(NAME), h.iot.tagsOf(NAME)];
    h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    h.iot.injectTags('TagResource', REFUSED);
    expect(expectFailed(await remove(PROPS, 'SettingsOld'), NAME)).toBe(refusal('TagResource'));
    expect(h.iot.template(NAME)).toEqual(template);
    expect(h.iot.tagsOf(NAME)).toEqual(tags);
  });
});

describe('undoing an overtaken write', () => {
  /** The resource's Create is cancelled while its write is on the way, and the tag call of the undo is refused. */
  function cancelWhileWriting(operation: TagRequest['operation'], id = 'Settings'): void {
    h.onLog(
      (l) => l.message === 'UpdateProvisioningTemplate',
      () => {
        h.cfnApi.setStatus(id, 'CREATE_FAILED');
        h.iot.injectTags(operation, REFUSED);
      },
    );
  }
  const problem = `Provisioning template "${NAME}": the stack stopped creating this resource while it was being written (the resource is now CREATE_FAILED). Undoing the write failed too; the template may keep it`;

  test("UntagResource refused: fails with the template's id (settings are back), and the rollback's Delete clears the tags", async () => {
    const before = h.iot.putTemplate(NAME, EARLIER);
    cancelWhileWriting('UntagResource');
    expect(expectFailed(await create(), NAME)).toBe(`${problem}: ${refusal('UntagResource')}`);
    expect(h.iot.template(NAME)).toEqual(before);
    expect(h.iot.tagsOf(NAME)![OWNER]).toBe(ME);

    h.cfnApi.stackStatus = 'ROLLBACK_IN_PROGRESS';
    expectSuccess(await remove(), NAME);
    expect(h.iot.template(NAME)).toEqual(before);
    expect(h.iot.tagsOf(NAME)).toEqual({});
  });

  test("TagResource refused while handing back: fails with the template's id; the rollback's Delete hands back", async () => {
    h.iot.putTemplate(NAME, EARLIER);
    expectSuccess(await create(PROPS, 'SettingsOld'), NAME);
    const old = h.iot.template(NAME);
    cancelWhileWriting('TagResource');
    expect(expectFailed(await create(NEW), NAME)).toBe(`${problem}: ${refusal('TagResource')}`);
    expect(h.iot.template(NAME)).toEqual(old);

    h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
    expectSuccess(await remove(NEW), NAME);
    expect(h.iot.template(NAME)).toEqual(old);
    expect(h.iot.tagsOf(NAME)).toEqual({ [OWNER]: OLD, [HOOK_TAG]: HOOK.TargetArn });
  });
});

describe('a renaming Update whose write may have landed, then failed: the whole revert runs, its tag step too', () => {
  const OLD_NAME = settings({ ...PROPS, TemplateName: 'OtherTemplate' });
  function writeLandsThenFails(): void {
    h.iot.inject({ ...faults.internalFailure(), method: 'PATCH', applyFirst: true });
    h.iot.inject({ method: 'PATCH', status: 400, errorType: 'InvalidRequestException', message: 'Version is locked.' });
  }
  const reason = new RegExp(
    `^UpdateProvisioningTemplate on provisioning template "${NAME}" failed after 2 attempts over \\d+s: InvalidRequestException: Version is locked\\.$`,
  );

  test('the template and its tags as they were', async () => {
    const before = h.iot.putTemplate(NAME, EARLIER);
    writeLandsThenFails();
    expect(expectFailed(await update(PROPS, OLD_NAME), NAME)).toMatch(reason);
    expect(h.iot.template(NAME)).toEqual(before);
    expect(h.iot.tagsOf(NAME)).toEqual({});
  });

  test("the revert's UntagResource refused: the settings back, our tags left, and the reason is the write's", async () => {
    const before = h.iot.putTemplate(NAME, EARLIER);
    writeLandsThenFails();
    h.iot.injectTags('UntagResource', REFUSED);
    expect(expectFailed(await update(PROPS, OLD_NAME), NAME)).toMatch(reason);
    expect(h.logs.some((l) => l.message === 'could not put back' && l.error === refusal('UntagResource'))).toBe(true);
    expect(h.iot.template(NAME)).toEqual(before);
    expect(h.iot.tagsOf(NAME)![OWNER]).toBe(ME);
  });
});

describe('TagResource never answers (dropped connections until the deadline)', () => {
  test('a Create: the tags taken off again, so nothing changed: the marker id', async () => {
    const before = h.iot.putTemplate(NAME, EARLIER);
    h.iot.injectTags('TagResource', faults.dropConnection(), 500);
    const reason = expectFailed(await create(PROPS, 'Settings', 4_000), CREATE_FAILED_MARKER);
    expect(reason).toMatch(/^TagResource on provisioning template "FleetTemplate" failed after \d+ attempts/);
    expect(reason).toContain("gave up before the handler's timeout");
    expect(h.iot.template(NAME)).toEqual(before);
    expect(h.iot.tagsOf(NAME)).toEqual({});
  });

  test("a takeover whose put-back cannot be tagged either: the template's id, and the rollback's Delete leaves the old owner alone", async () => {
    h.iot.putTemplate(NAME, EARLIER);
    expectSuccess(await create(PROPS, 'SettingsOld'), NAME);
    const [template, tags] = [h.iot.template(NAME), h.iot.tagsOf(NAME)];
    h.iot.injectTags('TagResource', faults.dropConnection(), 500);
    expectFailed(await create(PROPS, 'Settings', 4_000), NAME);
    expect(h.logs.some((l) => l.message === 'could not put back')).toBe(true);
    expect(h.iot.template(NAME)).toEqual(template);

    h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
    expectSuccess(await remove(), NAME);
    expect(h.iot.template(NAME)).toEqual(template);
    expect(h.iot.tagsOf(NAME)).toEqual(tags);
  });
});

describe('ListTagsForResource in pages', () => {
  const USER_TAGS = { team: 'devices', env: 'prod', cost: '42', owner: 'ops', tier: 'gold' };
  function paged(): void {
    h.iot.putTemplate(NAME, EARLIER);
    for (const [key, value] of Object.entries(USER_TAGS)) h.iot.setTag(NAME, key, value);
    h.iot.tagPageSize = 2;
  }
  const pages = (from: number) => calls('ListTagsForResource', from).length;

  test('a Create taking over finds the owner and its record on a later page; its rollback hands back', async () => {
    paged();
    expectSuccess(await create(PROPS, 'SettingsOld'), NAME);
    const old = h.iot.template(NAME);
    const seen = h.iot.tagRequests.length;
    expectSuccess(await create(NEW), NAME);
    expect(pages(seen)).toBeGreaterThan(3);
    expect(readOwnership(h.iot.tagsOf(NAME)!)).toMatchObject({
      owner: ME,
      record: { owner: OLD, ownerHook: HOOK.TargetArn },
    });

    h.cfnApi.stackStatus = 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS';
    expectSuccess(await remove(NEW), NAME);
    expect(h.iot.template(NAME)).toEqual(old);
    expect(h.iot.tagsOf(NAME)).toEqual({ ...USER_TAGS, [OWNER]: OLD, [HOOK_TAG]: HOOK.TargetArn });
  });

  test("the owner's Delete finds its tags on a later page: hook and its tags off, the others kept", async () => {
    paged();
    expectSuccess(await create(), NAME);
    h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    const seen = h.iot.tagRequests.length;
    expectSuccess(await remove(), NAME);
    expect(pages(seen)).toBeGreaterThan(3);
    expect(hook()).toBeUndefined();
    expect(h.iot.tagsOf(NAME)).toEqual(USER_TAGS);
  });

  test("a former owner's Delete finds the new owner on a later page: the hook stays", async () => {
    paged();
    expectSuccess(await create(PROPS, 'SettingsOld'), NAME);
    expectSuccess(await create(), NAME);
    h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    const seen = h.iot.tagRequests.length;
    expectSuccess(await remove(PROPS, 'SettingsOld'), NAME);
    expect(pages(seen)).toBeGreaterThan(3);
    expect(hook()).toBe(HOOK.TargetArn);
    expect(h.iot.tagsOf(NAME)![OWNER]).toBe(ME);
  });

  test('later pages throttled are retried', async () => {
    paged();
    expectSuccess(await create(), NAME);
    h.cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    // Two requests a second, from a second after the Create: the Delete's first two pages pass, the next are throttled.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    h.iot.throttleAbove(2);
    h.onLog(
      (l) => l.message === 'retrying',
      () => h.iot.throttleAbove(undefined),
    );
    const seen = h.iot.tagRequests.length;
    expectSuccess(await remove(), NAME);
    const listed = calls('ListTagsForResource', seen);
    expect(listed.slice(0, 3).map((r) => r.status)).toEqual([200, 200, 400]);
    expect(retried('ListTagsForResource').length).toBeGreaterThan(0);
    expect(h.iot.tagsOf(NAME)).toEqual(USER_TAGS);
  });
});

test('a Delete of a template deleted out of band: ListTagsForResource finds nothing, and the Delete succeeds', async () => {
  await created();
  h.iot.deleteTemplate(NAME);
  expectSuccess(await remove(), NAME);
  expect(calls('UntagResource')).toHaveLength(0);
  expect(h.logs.some((l) => l.message === 'template gone')).toBe(true);
});
