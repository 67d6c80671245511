/**
 * Decision tables for Create and Update (lambda/plan.ts): facts in, the next
 * fact needed or a plan out. Pure functions: no AWS call, no fake.
 * Delete and the undo of an overtaken write: test/plan-delete.test.ts.
 */
import type { SettingsProperties } from '../lib/handler-contract';
import {
  EventFacts,
  Facts,
  phaseOf,
  Plan,
  planApply,
  StackFacts,
  stackPhase,
  Step,
  TemplateFacts,
} from '../lambda/plan';
import { ownerTags, propsDigest, readOwnership, recordKeys, recordTags, Tags, takeRecord } from '../lambda/record';

const NAME = 'FleetTemplate';
const STACK = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Fleet/11111111-0000-4000-8000-000000000000';
const ME = 'Fleet/Settings/11111111';
const OTHER = 'Fleet/SettingsOld/11111111';
const fn = (name: string) => `arn:aws:lambda:eu-west-1:123456789012:function:${name}`;
const OURS = fn('Ours');
const EARLIER = { targetArn: fn('Earlier'), payloadVersion: '2020-04-01' };
const ROLE = 'arn:aws:iam::123456789012:role/AppRole';
const HOOK = { TargetArn: OURS, PayloadVersion: '2020-04-01' };
const HOOK_WRITE = { targetArn: OURS, payloadVersion: '2020-04-01' };

const props = (p: Partial<SettingsProperties> = {}): SettingsProperties => ({
  ServiceToken: 't',
  TemplateName: NAME,
  ...p,
});
const PROPS = props({ Enabled: 'true', PreProvisioningHook: HOOK });
/** The template as found: disabled, someone else's hook. */
const template = (t: Partial<TemplateFacts> = {}): TemplateFacts => ({
  type: 'FLEET_PROVISIONING',
  description: 'as it was',
  enabled: false,
  defaultVersionId: 1,
  provisioningRoleArn: 'arn:aws:iam::123456789012:role/Original',
  preProvisioningHook: EARLIER,
  ...t,
});
const event = (e: Partial<EventFacts> = {}): EventFacts => ({
  kind: 'Create',
  stackId: STACK,
  requestId: 'req-now',
  me: ME,
  props: PROPS,
  ...e,
});
const facts = (e: Partial<EventFacts>, more: Omit<Facts, 'event'> = {}): Facts => ({ event: event(e), ...more });
/** A record taken of `template()` by an earlier event (or by this one: request 'req-now'). */
const record = (r: { request?: string; props?: SettingsProperties; owner?: string; ownerHook?: string } = {}) =>
  takeRecord(template(), { request: 'req-old', props: PROPS, ...r });
const owned = (owner: string, hook?: string, rec?: ReturnType<typeof record>): Tags => ({
  ...ownerTags(owner, hook),
  ...(rec ? recordTags(rec) : {}),
});
/** Record pieces that decode to nothing. */
const GARBAGE: Tags = Object.fromEntries(
  [0, 1, 2, 3].map((i) => [`iot-provisioning-template-settings:before:${i}`, '!!']),
);

const plan = (f: Facts): Plan => {
  const p = planApply(f);
  if (!('steps' in p)) throw new Error(`expected a plan, got ${JSON.stringify(p)}`);
  return p;
};
const writes = (steps: readonly Step[] = []) => steps.flatMap((s) => ('write' in s ? [s.write] : []));
const tagSteps = (steps: readonly Step[] = []) => steps.flatMap((s) => ('set' in s ? [s] : []));
/** The tags after `steps`' tag changes. */
function applyTags(tags: Tags, steps: readonly Step[] = []): Tags {
  const after = { ...tags };
  for (const s of tagSteps(steps)) {
    Object.assign(after, s.set);
    for (const key of s.remove) delete after[key];
  }
  return after;
}

describe('phaseOf and stackPhase', () => {
  test.each([
    ['CREATE_IN_PROGRESS', 'forward'],
    ['UPDATE_IN_PROGRESS', 'forward'],
    ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'forward'],
    ['ROLLBACK_IN_PROGRESS', 'rollback'],
    ['ROLLBACK_FAILED', 'rollback'],
    ['UPDATE_ROLLBACK_IN_PROGRESS', 'rollback'],
    ['UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', 'rollback'],
    ['IMPORT_ROLLBACK_IN_PROGRESS', 'rollback'],
    ['DELETE_IN_PROGRESS', 'deleting'],
    ['DELETE_FAILED', 'deleting'],
  ])('%s is %s', (status, phase) => expect(phaseOf(status)).toBe(phase));

  const ROOT = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Root/22222222-0000-4000-8000-000000000000';
  test.each<[string, StackFacts | undefined, unknown]>([
    ['not read yet', undefined, { need: 'stack' }],
    ['in progress', { status: 'UPDATE_IN_PROGRESS' }, 'forward'],
    ['rolling back', { status: 'UPDATE_ROLLBACK_IN_PROGRESS' }, 'rollback'],
    ['deleted, not nested', { status: 'DELETE_IN_PROGRESS' }, 'deleting'],
    ['nested, not deleted: the root is not asked', { status: 'UPDATE_IN_PROGRESS', rootId: ROOT }, 'forward'],
    ['nested and deleted: asks the root', { status: 'DELETE_IN_PROGRESS', rootId: ROOT }, { need: 'root' }],
    [
      'nested, deleted by a root rolling back',
      { status: 'DELETE_IN_PROGRESS', rootId: ROOT, rootStatus: 'UPDATE_ROLLBACK_IN_PROGRESS' },
      'rollback',
    ],
    [
      'nested, deleted by a root in its rollback cleanup',
      { status: 'DELETE_IN_PROGRESS', rootId: ROOT, rootStatus: 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS' },
      'rollback',
    ],
    [
      'nested, deleted by a root that succeeded',
      { status: 'DELETE_IN_PROGRESS', rootId: ROOT, rootStatus: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS' },
      'deleting',
    ],
    [
      'nested, deleted with its root',
      { status: 'DELETE_IN_PROGRESS', rootId: ROOT, rootStatus: 'DELETE_IN_PROGRESS' },
      'deleting',
    ],
  ])('%s', (_, stack, expected) => expect(stackPhase(facts({}, { stack }))).toEqual(expected));
});

describe('planApply: what it asks for, in order', () => {
  const dropHook = { kind: 'Update' as const, props: props({ Enabled: 'true' }), old: PROPS };
  const mine = owned(ME, OURS, record({ props: PROPS }));
  test.each<[string, Partial<EventFacts>, Omit<Facts, 'event'>, unknown]>([
    ['Create: the template first', {}, {}, { need: 'template' }],
    ['Create: then its tags', {}, { template: template() }, { need: 'tags' }],
    ['Update: the template first', dropHook, {}, { need: 'template' }],
    ['Update of a template gone: the stack', dropHook, { template: null }, { need: 'stack' }],
    [
      'Update dropping a setting its record took: the stack',
      dropHook,
      { template: template(), tags: mine },
      { need: 'stack' },
    ],
    [
      'the same with the root nested stack deleted',
      dropHook,
      { template: template(), tags: mine, stack: { status: 'DELETE_IN_PROGRESS', rootId: 'root' } },
      { need: 'root' },
    ],
  ])('%s', (_, e, more, expected) => expect(planApply(facts(e, more))).toEqual(expected));

  test.each<[string, Partial<EventFacts>, Omit<Facts, 'event'>, string]>([
    [
      'a property that does not parse, before any read',
      { props: props({ Enabled: 'yes' }) },
      {},
      'Enabled must be "true" or "false"; got "yes".',
    ],
    [
      'Create of a template that does not exist (no stack read)',
      {},
      { template: null },
      `"${NAME}" does not exist. Create it first`,
    ],
    [
      'renaming Update to a template that does not exist',
      { kind: 'Update', old: props({ TemplateName: 'Old' }) },
      { template: null, stack: { status: 'UPDATE_IN_PROGRESS' } },
      'does not exist',
    ],
    [
      'Update of a template gone, outside a rollback',
      dropHook,
      { template: null, stack: { status: 'UPDATE_IN_PROGRESS' } },
      'does not exist',
    ],
    [
      'a hook on a JITP template, before its tags',
      {},
      { template: template({ type: 'JITP' }) },
      'is of type JITP: only FLEET_PROVISIONING',
    ],
    [
      'dropping an in-app role the template still uses',
      { kind: 'Update', props: props(), old: props({ ProvisioningRoleArn: ROLE, ProvisioningRoleInApp: 'true' }) },
      { template: template({ provisioningRoleArn: ROLE }), tags: owned(ME) },
      `still uses ${ROLE}, which this app defines`,
    ],
  ])('refused: %s', (_, e, more, fail) => {
    const p = plan(facts(e, more));
    expect(p).toMatchObject({ why: 'refused', steps: [] });
    expect(p.fail).toContain(fail);
  });

  test.each<[string, Partial<EventFacts>, Omit<Facts, 'event'>, string]>([
    [
      'Update of a template gone, in a rollback',
      dropHook,
      { template: null, stack: { status: 'ROLLBACK_IN_PROGRESS' } },
      'template gone; nothing to roll back',
    ],
    ['Create that manages nothing', { props: props() }, { template: template(), tags: {} }, 'nothing to write'],
  ])('done: %s', (_, e, more, why) => expect(plan(facts(e, more))).toEqual({ why, steps: [] }));
});

describe('planApply: a Create (or a renaming Update) takes the template over', () => {
  const WRITE = { templateName: NAME, enabled: true, preProvisioningHook: HOOK_WRITE };
  // owner tag / hook tag / record (owner, request) after the tag step; the owner the revert hands back to.
  test.each<[string, Tags, TemplateFacts, { from?: string; recordOwner?: string; request: string }]>([
    ['no owner', {}, template(), { request: 'req-now' }],
    [
      'another owner',
      owned(OTHER, OURS, record()),
      template(),
      { from: OTHER, recordOwner: OTHER, request: 'req-now' },
    ],
    [
      'another owner, its record unreadable',
      { ...owned(OTHER, fn('Theirs')), ...GARBAGE },
      template(),
      { from: OTHER, recordOwner: OTHER, request: 'req-now' },
    ],
    ['no owner, a record unreadable', GARBAGE, template(), { request: 'req-now' }],
    [
      'this resource, an older record: the previous owner it names is kept',
      owned(ME, OURS, record({ owner: OTHER })),
      template(),
      { from: ME, recordOwner: OTHER, request: 'req-now' },
    ],
  ])('%s', (_, tags, t, x) => {
    const p = plan(facts({}, { template: t, tags }));
    expect(p).toMatchObject({ why: 'takeover', details: { from: x.from }, check: true, revertOnFailure: false });
    expect(p.steps.map((s) => ('write' in s ? 'write' : 'tags'))).toEqual(['tags', 'write']);
    expect(writes(p.steps)).toEqual([WRITE]);
    const after = applyTags(tags, p.steps);
    const own = readOwnership(after);
    expect(own).toMatchObject({ owner: ME, hook: OURS, record: { request: x.request } });
    expect(own.record?.owner).toBe(x.recordOwner);
    expect(own.record).toMatchObject({ enabled: false, preProvisioningHook: EARLIER, props: propsDigest(PROPS) });
    expect(recordKeys(after)).toEqual(Object.keys(recordTags(own.record!)));
    // The revert: the template's settings back, then the tags exactly as they were.
    expect(writes(p.revert)).toEqual([{ templateName: NAME, enabled: false, preProvisioningHook: EARLIER }]);
    expect(applyTags(after, p.revert)).toEqual(tags);
  });

  test("a redelivery (this event's record): no tag step, and the revert puts back what the first delivery found", () => {
    const first = record({ request: 'req-now', owner: OTHER, ownerHook: OURS });
    // The first delivery's write landed: the template has our settings now.
    const t = template({ enabled: true, preProvisioningHook: HOOK_WRITE });
    const p = plan(facts({}, { template: t, tags: owned(ME, OURS, first) }));
    expect(p.steps).toEqual([{ write: WRITE }]);
    expect(writes(p.revert)).toEqual([{ templateName: NAME, enabled: false, preProvisioningHook: EARLIER }]);
    expect(applyTags(owned(ME, OURS, first), p.revert)).toEqual(ownerTags(OTHER, OURS));
  });

  test('a renaming Update: the same takeover, and the whole revert runs if a step fails', () => {
    const p = plan(
      facts({ kind: 'Update', old: props({ TemplateName: 'Old' }) }, { template: template(), tags: owned(OTHER) }),
    );
    expect(p).toMatchObject({ why: 'takeover', revertOnFailure: true, check: true });
    expect(readOwnership(applyTags(owned(OTHER), p.steps)).record?.owner).toBe(OTHER);
  });
});

describe('planApply: an Update of the same template', () => {
  const V1 = props({ Enabled: 'true' });
  const INAPP = props({ ProvisioningRoleArn: ROLE, ProvisioningRoleInApp: 'true' });
  const ROLLBACK = { status: 'UPDATE_ROLLBACK_IN_PROGRESS' };
  const theirs = { targetArn: fn('Theirs'), payloadVersion: '2020-04-01' };
  const w = (write: object) => ({ templateName: NAME, ...write });
  const hookOff = w({ enabled: true, removePreProvisioningHook: true });
  // The tags after the plan's tag steps: the owner is always this resource; the record's request and previous owner.
  type After = { request?: string; recordOwner?: string };
  type Row = [string, SettingsProperties, SettingsProperties, Omit<Facts, 'event'>, Partial<Plan>, object[], After];
  test.each<Row>([
    [
      'a value changed, by the owner: the write, no tag step',
      props({ Enabled: 'false' }),
      V1,
      { template: template({ enabled: true }), tags: owned(ME) },
      { why: 'update', check: true, revert: [{ write: w({ enabled: true }) }] },
      [w({ enabled: false })],
      {},
    ],
    [
      'nothing to write: no check',
      props(),
      props(),
      { template: template(), tags: owned(ME) },
      { why: 'update', check: false },
      [],
      {},
    ],
    [
      'a value changed, owned by another: taken back, with a record that names that owner',
      props({ Enabled: 'false' }),
      V1,
      { template: template(), tags: owned(OTHER, OURS, record()) },
      { why: 'update', check: true },
      [w({ enabled: false })],
      { request: 'req-now', recordOwner: OTHER },
    ],
    [
      'a hook added over an older record: a new record, that keeps the previous owner',
      PROPS,
      V1,
      { template: template(), tags: owned(ME, '', record({ owner: OTHER, ownerHook: OURS })) },
      {
        why: 'update',
        check: true,
        // Undone: the earlier write back, then the owner and hook tags as they were (the record stays).
        revert: [{ write: w({ enabled: true, preProvisioningHook: EARLIER }) }, { set: ownerTags(ME, ''), remove: [] }],
      },
      [w({ enabled: true, preProvisioningHook: HOOK_WRITE })],
      { request: 'req-now', recordOwner: OTHER },
    ],
    [
      "a hook added, redelivered (this event's record): the record kept, no tag step",
      PROPS,
      V1,
      {
        template: template({ preProvisioningHook: HOOK_WRITE }),
        tags: owned(ME, OURS, record({ request: 'req-now' })),
      },
      { why: 'update', check: true, revert: [{ write: w({ enabled: true, preProvisioningHook: EARLIER }) }] },
      [w({ enabled: true, preProvisioningHook: HOOK_WRITE })],
      { request: 'req-now' },
    ],
    [
      'a hook dropped, in the rollback of the Update that added it: put back from the record',
      V1,
      PROPS,
      { template: template({ preProvisioningHook: HOOK_WRITE }), tags: owned(ME, OURS, record()), stack: ROLLBACK },
      { why: 'rollback: put back from the record', details: { noLongerManaged: [], hook: undefined } },
      [w({ enabled: true, preProvisioningHook: EARLIER })],
      { request: 'req-old' },
    ],
    [
      'a hook dropped outside a rollback: it comes off',
      V1,
      PROPS,
      {
        template: template({ preProvisioningHook: HOOK_WRITE }),
        tags: owned(ME, OURS, record()),
        stack: { status: 'UPDATE_IN_PROGRESS' },
      },
      { why: 'update', check: true },
      [hookOff],
      { request: 'req-old' },
    ],
    [
      'a hook dropped, an older record (no stack read): it comes off',
      V1,
      PROPS,
      { template: template({ preProvisioningHook: HOOK_WRITE }), tags: owned(ME, OURS, record({ props: V1 })) },
      { why: 'update' },
      [hookOff],
      { request: 'req-old' },
    ],
    [
      'a hook dropped, the record unreadable (no stack read): it comes off',
      V1,
      PROPS,
      { template: template({ preProvisioningHook: HOOK_WRITE }), tags: { ...owned(ME, OURS), ...GARBAGE } },
      { why: 'update' },
      [hookOff],
      {},
    ],
    [
      "a hook dropped, someone else's hook on the template now: left alone",
      V1,
      PROPS,
      { template: template({ preProvisioningHook: theirs }), tags: owned(ME, OURS) },
      { why: 'update; another hook now; left alone', details: { noLongerManaged: [], hook: theirs.targetArn } },
      [w({ enabled: true })],
      {},
    ],
    [
      'enabled dropped: left as it is',
      props({ Description: 'd' }),
      props({ Description: 'd', Enabled: 'true' }),
      { template: template(), tags: owned(ME) },
      { why: 'update; no longer managed, left as it is', details: { noLongerManaged: ['enabled'], hook: undefined } },
      [w({ description: 'd', enabled: false })],
      {},
    ],
    [
      'an in-app role dropped that the template no longer uses: nothing to write',
      props(),
      INAPP,
      { template: template(), tags: owned(ME) },
      { why: 'update; no longer managed, left as it is', check: false },
      [],
      {},
    ],
    [
      'an in-app role dropped in the rollback of the Update that added it: put back in a write of its own',
      props(),
      INAPP,
      {
        template: template({ provisioningRoleArn: ROLE }),
        tags: owned(ME, '', record({ props: INAPP })),
        stack: ROLLBACK,
      },
      { why: 'rollback: put back from the record', check: true },
      [w({ enabled: false }), w({ provisioningRoleArn: 'arn:aws:iam::123456789012:role/Original', enabled: false })],
      { request: 'req-old' },
    ],
  ])('%s', (_, now, old, more, expected, written, x) => {
    const p = plan(facts({ kind: 'Update', props: now, old }, more));
    expect({ check: false, ...p }).toMatchObject(expected);
    expect(writes(p.steps)).toEqual(written);
    const after = applyTags(more.tags!, p.steps);
    expect(after).toMatchObject(ownerTags(ME, now.PreProvisioningHook?.TargetArn));
    const own = readOwnership(after);
    expect(own.record?.request).toBe(x.request);
    expect(own.record?.owner).toBe(x.recordOwner);
    if (x.request === 'req-now') expect(own.record?.props).toBe(propsDigest(now));
    // A tag step only when the tags change.
    if (JSON.stringify(after) === JSON.stringify(more.tags)) expect(tagSteps(p.steps)).toEqual([]);
  });
});
