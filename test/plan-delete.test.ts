/**
 * Decision tables for Delete and for the undo of an overtaken write
 * (lambda/plan-delete.ts): facts in, the next fact needed or a plan out.
 * Pure functions: no AWS call, no fake. Create and Update: test/plan-apply.test.ts.
 */
import { CREATE_FAILED_MARKER, SettingsProperties } from '../lib/handler-contract';
import { EventFacts, Facts, Plan, planApply, StackFacts, Step, TemplateFacts } from '../lambda/plan';
import { planDelete, planUndo, Verdict } from '../lambda/plan-delete';
import { ownerTags, PENDING_ROLE_TAG, recordTags, Tags, takeRecord } from '../lambda/record';

const NAME = 'FleetTemplate';
const STACK = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Fleet/11111111-0000-4000-8000-000000000000';
const ROOT = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Root/22222222-0000-4000-8000-000000000000';
const ME = 'Fleet/Settings/11111111';
const OTHER = 'Fleet/SettingsOld/11111111';
const fn = (name: string) => `arn:aws:lambda:eu-west-1:123456789012:function:${name}`;
const OURS = fn('Ours');
const EARLIER = { targetArn: fn('Earlier'), payloadVersion: '2020-04-01' };
const THEIRS = { targetArn: fn('Theirs'), payloadVersion: '2020-04-01' };
const HOOK_WRITE = { targetArn: OURS, payloadVersion: '2020-04-01' };
const ORIGINAL_ROLE = 'arn:aws:iam::123456789012:role/Original';

const props = (p: Partial<SettingsProperties> = {}): SettingsProperties => ({
  ServiceToken: 't',
  TemplateName: NAME,
  ...p,
});
const PROPS = props({ Enabled: 'true', PreProvisioningHook: { TargetArn: OURS, PayloadVersion: '2020-04-01' } });
/** The template as this resource's Create found it: disabled, someone else's hook. */
const template = (t: Partial<TemplateFacts> = {}): TemplateFacts => ({
  type: 'FLEET_PROVISIONING',
  description: 'as it was',
  enabled: false,
  defaultVersionId: 1,
  provisioningRoleArn: ORIGINAL_ROLE,
  preProvisioningHook: EARLIER,
  ...t,
});
/** The template with this resource's settings on it. */
const WRITTEN = template({ enabled: true, preProvisioningHook: HOOK_WRITE });
const event = (e: Partial<EventFacts> = {}): EventFacts => ({
  kind: 'Delete',
  stackId: STACK,
  requestId: 'req-now',
  me: ME,
  props: PROPS,
  physicalId: NAME,
  ...e,
});
const facts = (e: Partial<EventFacts>, more: Omit<Facts, 'event'> = {}): Facts => ({ event: event(e), ...more });
/** What the template had when an earlier event took it (for `props`: PROPS, this Delete's, unless given). */
const record = (r: { props?: SettingsProperties; owner?: string; ownerHook?: string } = {}) =>
  takeRecord(template(), { request: 'req-old', props: PROPS, ...r });
const owned = (owner: string, hook?: string, rec?: ReturnType<typeof record>): Tags => ({
  ...ownerTags(owner, hook),
  ...(rec ? recordTags(rec) : {}),
});
const GARBAGE: Tags = Object.fromEntries(
  [0, 1, 2].map((i) => [`iot-provisioning-template-settings:before:${i}`, '!!']),
);
const OLDER = record({ props: props({ Enabled: 'false' }) });

const asPlan = (p: ReturnType<typeof planDelete>): Plan => {
  if (!('steps' in p)) throw new Error(`expected a plan, got ${JSON.stringify(p)}`);
  return p;
};
const writes = (steps: readonly Step[] = []) => steps.flatMap((s) => ('write' in s ? [s.write] : []));
function applyTags(tags: Tags, steps: readonly Step[]): Tags {
  const after = { ...tags };
  for (const s of steps) {
    if ('write' in s) continue;
    Object.assign(after, s.set);
    for (const key of s.remove) delete after[key];
  }
  return after;
}
const w = (write: object) => ({ templateName: NAME, ...write });
const HOOK_OFF = w({ removePreProvisioningHook: true, enabled: true });

describe('planDelete: what it asks for, in order', () => {
  test.each<[string, Partial<EventFacts>, Omit<Facts, 'event'>, unknown]>([
    ['the tags first', {}, {}, { need: 'tags' }],
    [
      'owned by another resource with another hook: the template',
      {},
      { tags: owned(OTHER, THEIRS.targetArn) },
      { need: 'template' },
    ],
    ['no owner tag, and the props name a hook: the template', {}, { tags: {} }, { need: 'template' }],
    ['the owner: the template', {}, { tags: owned(ME, OURS) }, { need: 'template' }],
    [
      "the owner, with this event's record: the stack",
      {},
      { tags: owned(ME, OURS, record()), template: WRITTEN },
      { need: 'stack' },
    ],
    [
      'the same in a nested stack being deleted: its root',
      {},
      { tags: owned(ME, OURS, record()), template: WRITTEN, stack: { status: 'DELETE_IN_PROGRESS', rootId: ROOT } },
      { need: 'root' },
    ],
    [
      'a pending role, with an older record: the stack',
      {},
      { tags: { ...owned(ME, OURS, OLDER), [PENDING_ROLE_TAG]: ORIGINAL_ROLE }, template: WRITTEN },
      { need: 'stack' },
    ],
  ])('%s', (_, e, more, expected) => expect(planDelete(facts(e, more))).toEqual(expected));

  test.each<[string, Partial<EventFacts>, Omit<Facts, 'event'>, string]>([
    [
      'a Create that changed nothing: no read at all',
      { physicalId: CREATE_FAILED_MARKER },
      {},
      'create had changed nothing',
    ],
    ['no tags: the template is gone', {}, { tags: null }, 'template gone'],
    ['the owner, the template gone since', {}, { tags: owned(ME, OURS), template: null }, 'template gone'],
  ])('done: %s', (_, e, more, why) => expect(planDelete(facts(e, more))).toEqual({ why, steps: [] }));
});

describe('planDelete: the plan', () => {
  const ROLLBACK: StackFacts = { status: 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS' };
  const CLEANUP: StackFacts = { status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS' };
  const RESTORED = w({ enabled: false, preProvisioningHook: EARLIER });
  const handBack = record({ owner: OTHER, ownerHook: OURS });
  /** The owner's record names this resource as the owner to hand back to. */
  const namesMe = record({ owner: ME, ownerHook: OURS });
  const pending = { ...owned(ME, OURS, record()), [PENDING_ROLE_TAG]: ORIGINAL_ROLE };
  // Facts (undefined: not read; the table's rows that leave the template unread decide after one read), then
  // the plan: why, the writes, and the tags after its tag steps.
  type Row = [string, Tags, TemplateFacts | undefined, StackFacts | undefined, string, object[], Tags];
  test.each<Row>([
    [
      'another owner manages our hook: left alone',
      owned(OTHER, OURS, record()),
      undefined,
      undefined,
      'owned by another resource now; left alone',
      [],
      owned(OTHER, OURS, record()),
    ],
    [
      'another owner manages our hook, its record hands back to this resource: signs off',
      owned(OTHER, OURS, namesMe),
      undefined,
      undefined,
      'owned by another resource now; left alone',
      [],
      owned(OTHER, OURS, record()),
    ],
    [
      'another owner with no hook; ours on the template: our hook off',
      owned(OTHER),
      WRITTEN,
      undefined,
      'not the owner: our hook off',
      [HOOK_OFF],
      owned(OTHER),
    ],
    [
      'the same, its record hands back to this resource: our hook off, and signs off',
      owned(OTHER, '', namesMe),
      WRITTEN,
      undefined,
      'not the owner: our hook off',
      [HOOK_OFF],
      owned(OTHER, '', record()),
    ],
    [
      'another owner with another hook, which is on the template: left alone',
      owned(OTHER, THEIRS.targetArn),
      template({ preProvisioningHook: THEIRS }),
      undefined,
      'not the owner: a hook that this resource did not set; left alone',
      [],
      owned(OTHER, THEIRS.targetArn),
    ],
    [
      'no owner tag, our hook on the template: off',
      {},
      WRITTEN,
      undefined,
      'not the owner: our hook off',
      [HOOK_OFF],
      {},
    ],
    [
      "no owner tag, another's hook: left alone",
      {},
      template(),
      undefined,
      'not the owner: a hook that this resource did not set; left alone',
      [],
      {},
    ],
    [
      'the owner, no record: our hook and tags off, tags of others kept',
      { ...owned(ME, OURS), team: 'a' },
      WRITTEN,
      undefined,
      'our hook and tags off',
      [HOOK_OFF],
      { team: 'a' },
    ],
    [
      "the owner, another's hook on the template now: only the tags off",
      owned(ME, OURS),
      template({ preProvisioningHook: THEIRS }),
      undefined,
      'our hook and tags off',
      [],
      {},
    ],
    [
      'the owner, an unreadable record: taken off with the tags',
      { ...owned(ME, OURS), ...GARBAGE },
      WRITTEN,
      undefined,
      'our hook and tags off',
      [HOOK_OFF],
      {},
    ],
    [
      'the owner, an older record: a plain delete, no stack read',
      owned(ME, OURS, OLDER),
      WRITTEN,
      undefined,
      'our hook and tags off',
      [HOOK_OFF],
      {},
    ],
    [
      'the owner, an older record that names a previous owner: handed back, no stack read',
      owned(ME, OURS, { ...OLDER, owner: OTHER, ownerHook: OURS }),
      WRITTEN,
      undefined,
      'handed back',
      // The hook the previous owner manages (its hook tag), whatever the record's snapshot says.
      [w({ enabled: true, preProvisioningHook: { targetArn: OURS } })],
      ownerTags(OTHER, OURS),
    ],
    [
      "this event's record, in a rollback: put back",
      owned(ME, OURS, record()),
      WRITTEN,
      ROLLBACK,
      'rollback: put back from the record',
      [RESTORED],
      {},
    ],
    [
      "this event's record with a previous owner, in a rollback: put back, and handed back",
      owned(ME, OURS, handBack),
      WRITTEN,
      { status: 'ROLLBACK_IN_PROGRESS' },
      'rollback: put back from the record',
      [RESTORED],
      ownerTags(OTHER, OURS),
    ],
    [
      'the same in a nested stack deleted by its rolling-back root',
      owned(ME, OURS, handBack),
      WRITTEN,
      { status: 'DELETE_IN_PROGRESS', rootId: ROOT, rootStatus: 'UPDATE_ROLLBACK_IN_PROGRESS' },
      'rollback: put back from the record',
      [RESTORED],
      ownerTags(OTHER, OURS),
    ],
    [
      'a nested stack deleted by a root that is not rolling back: a plain delete',
      owned(ME, OURS, record()),
      WRITTEN,
      { status: 'DELETE_IN_PROGRESS', rootId: ROOT, rootStatus: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS' },
      'our hook and tags off',
      [HOOK_OFF],
      {},
    ],
    [
      "this event's record, the stack deleted: a plain delete",
      owned(ME, OURS, record()),
      WRITTEN,
      { status: 'DELETE_IN_PROGRESS' },
      'our hook and tags off',
      [HOOK_OFF],
      {},
    ],
    [
      "this event's record with a previous owner, in the cleanup: handed back",
      owned(ME, OURS, handBack),
      WRITTEN,
      CLEANUP,
      'handed back',
      [w({ enabled: true, preProvisioningHook: { targetArn: OURS } })],
      ownerTags(OTHER, OURS),
    ],
    [
      'a pending role, the stack deleted: the record stays',
      pending,
      WRITTEN,
      { status: 'DELETE_IN_PROGRESS' },
      'earlier role never put back; record kept',
      [HOOK_OFF],
      pending,
    ],
    [
      'a pending role, in a rollback: put back, and the pending tag off',
      pending,
      WRITTEN,
      ROLLBACK,
      'rollback: put back from the record',
      [RESTORED],
      {},
    ],
  ])('%s', (_, tags, t, stack, why, written, tagsAfter) => {
    const p = asPlan(planDelete(facts({}, { tags, template: t, stack })));
    expect(p.why).toBe(why);
    expect(writes(p.steps)).toEqual(written);
    expect(applyTags(tags, p.steps)).toEqual(tagsAfter);
    expect(p.fail).toBeUndefined();
  });

  test("the owner without a hook of its own hands back: the previous owner's hook is written (it may have taken it off)", () => {
    const noHook = props({ Description: 'd' });
    const tags = owned(ME, '', { ...OLDER, owner: OTHER, ownerHook: THEIRS.targetArn });
    const p = asPlan(
      planDelete(facts({ props: noHook }, { tags, template: template({ preProvisioningHook: undefined }) })),
    );
    expect(p.why).toBe('handed back');
    expect(writes(p.steps)).toEqual([w({ enabled: false, preProvisioningHook: { targetArn: THEIRS.targetArn } })]);
    expect(applyTags(tags, p.steps)).toEqual(ownerTags(OTHER, THEIRS.targetArn));
  });

  test('a rollback that must put back another role: last, in a write of its own, after a pending tag, with a hint', () => {
    const withRole = props({ ...PROPS, ProvisioningRoleArn: 'arn:aws:iam::123456789012:role/StackRole' });
    const tags = owned(ME, OURS, record({ props: withRole }));
    const p = asPlan(
      planDelete(facts({ props: withRole }, { tags, template: WRITTEN, stack: { status: 'ROLLBACK_IN_PROGRESS' } })),
    );
    expect(p.steps).toEqual([
      { write: RESTORED },
      { set: { [PENDING_ROLE_TAG]: ORIGINAL_ROLE }, remove: [] },
      {
        write: w({ provisioningRoleArn: ORIGINAL_ROLE, enabled: false }),
        hint: expect.stringContaining(`--template-name ${NAME} --provisioning-role-arn ${ORIGINAL_ROLE}`),
      },
      {
        set: {},
        remove: [...Object.keys(recordTags(record())), PENDING_ROLE_TAG, ...Object.keys(ownerTags(ME, OURS))],
      },
    ]);
  });
});

describe('planUndo: after a write, CloudFormation no longer wants it', () => {
  const WANTED: Verdict = { wanted: true };
  const STALE: Verdict = { wanted: false, stale: true, why: 'the resource is now CREATE_FAILED' };
  const DELETING: Verdict = { wanted: false, stale: true, deleting: true, why: 'the stack no longer has it' };
  const UNSURE: Verdict = { wanted: false, stale: false, why: 'the resource is now UNKNOWN' };
  const applied = (f: Facts): Plan => {
    const p = planApply(f);
    if (!('steps' in p)) throw new Error('expected a plan');
    return p;
  };
  const create = (p = PROPS) => facts({ kind: 'Create', props: p }, { template: template(), tags: owned(OTHER, OURS) });
  const update = (p: SettingsProperties, old: SettingsProperties, t = template()) =>
    facts({ kind: 'Update', props: p, old }, { template: t, tags: owned(ME) });
  const RETAINED = props({ ...PROPS, Retained: 'true' });
  const HOOKED_OFF = props({ Enabled: 'false', PreProvisioningHook: PROPS.PreProvisioningHook });
  const rename = facts(
    { kind: 'Update', old: props({ TemplateName: 'Old' }) },
    { template: template(), tags: owned(OTHER) },
  );
  const TAKEN_BACK = 'The template was set back as it was before, its previous owner included.';
  // The facts, the verdict; then the undo: its why, its steps (the applied plan's revert, ours, or none), and how the reason ends.
  type Row = [string, Facts, Verdict, string | undefined, 'revert' | object[] | undefined, string | undefined];
  test.each<Row>([
    ['a Create still wanted: nothing to undo', create(), WANTED, undefined, undefined, undefined],
    ['a Create overtaken: the template handed back', create(), STALE, 'undoing the write', 'revert', TAKEN_BACK],
    ['a Create, no clear answer: undone too', create(), UNSURE, 'undoing the write', 'revert', TAKEN_BACK],
    [
      'a Create whose resource is deleted: handed back (a takeover)',
      create(),
      DELETING,
      'undoing the write',
      'revert',
      TAKEN_BACK,
    ],
    [
      'a retained Create overtaken: kept',
      create(RETAINED),
      STALE,
      'kept the write: the resource is retained',
      [],
      undefined,
    ],
    [
      'an Update, no clear answer: kept (it may be the rollback)',
      update(props({ Enabled: 'true' }), props({ Enabled: 'false' })),
      UNSURE,
      'kept the write',
      [],
      undefined,
    ],
    [
      'an Update overtaken: the old settings back',
      update(props({ Enabled: 'true' }), props({ Enabled: 'false' })),
      STALE,
      'undoing the write',
      'revert',
      'The old settings were written back.',
    ],
    [
      'an Update that added a hook to a template with none, overtaken: the hook off',
      update(PROPS, props({ Enabled: 'true' }), template({ preProvisioningHook: undefined })),
      STALE,
      'undoing the write',
      'revert',
      'The hook it set was removed again.',
    ],
    [
      'an Update whose resource is deleted: our hook off',
      update(HOOKED_OFF, PROPS),
      DELETING,
      'undoing the write',
      [{ write: w({ removePreProvisioningHook: true, enabled: false }) }],
      'The hook it set was removed again.',
    ],
    [
      'an Update without a hook whose resource is deleted: nothing',
      update(props({ Enabled: 'true' }), props({ Enabled: 'false' })),
      DELETING,
      'undoing the write',
      [],
      'Nothing it wrote needed undoing.',
    ],
    [
      'a retained Update whose resource is deleted: kept',
      update(RETAINED, PROPS),
      DELETING,
      'kept the write: the resource is retained',
      [],
      undefined,
    ],
    [
      'a retained Update overtaken, not deleted: undone',
      update(RETAINED, props({ Enabled: 'false' })),
      STALE,
      'undoing the write',
      'revert',
      'The old settings were written back.',
    ],
    [
      'a renaming Update whose resource is deleted: handed back',
      rename,
      DELETING,
      'undoing the write',
      'revert',
      TAKEN_BACK,
    ],
  ])('%s', (_, f, verdict, why, steps, end) => {
    const plan = applied(f);
    const undo = planUndo(f, plan, verdict);
    if (why === undefined) return expect(undo).toBeUndefined();
    expect(undo?.why).toBe(why);
    expect(undo?.steps).toEqual(steps === 'revert' ? plan.revert : steps);
    if (steps === 'revert') expect(undo?.steps.length).toBeGreaterThan(0);
    const doing = f.event.kind === 'Create' ? 'creating' : 'updating';
    const problem = verdict.wanted
      ? ''
      : `Provisioning template "${NAME}": ${verdict.stale ? `the stack stopped ${doing} this resource while it was being written (${verdict.why})` : `could not confirm that the stack is still ${doing} this resource: ${verdict.why}`}`;
    expect(undo?.details).toEqual({ problem });
    if (end === undefined) return expect(undo?.fail).toBeUndefined();
    expect(undo?.fail).toBe(`${problem}. ${end}`);
    expect(undo?.context).toBe(`${problem}. Undoing the write failed too; the template may keep it`);
  });
});
