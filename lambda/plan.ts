/**
 * What an event does to the template, decided by pure functions: each takes the facts read so far and
 * returns the next fact it needs or a plan (the writes and tag changes, in order, and why), which
 * lambda/settings.ts carries out. Checked as tables (test/plan-apply.test.ts, test/plan-delete.test.ts)
 * and over random deployment histories (test/histories.test.ts). This file: the shared types, and Create
 * and Update (`planApply`); lambda/plan-delete.ts: Delete, and the undo of an overtaken write.
 */
import {
  desiredWrite,
  SETTINGS,
  SettingField,
  SettingsProperties,
  TemplateRead,
  TemplateWrite,
} from '../lib/handler-contract';
import {
  Applied,
  APPLIED_TAG,
  HOOK_TAG,
  keysOf,
  OWNER_TAG,
  Ownership,
  pieces,
  ownerTags,
  propsDigest,
  readOwnership,
  recordKeys,
  recordTags,
  restoreWrites,
  Tags,
  takeRecord,
  TemplateRecord,
} from './record';

/** The event, as the decisions need it. */
export interface EventFacts {
  readonly kind: 'Create' | 'Update' | 'Delete';
  readonly stackId: string;
  readonly requestId: string;
  /** This resource's owner id (lambda/record.ts). */
  readonly me: string;
  readonly props: SettingsProperties;
  /** An Update's previous properties. */
  readonly old?: SettingsProperties;
  readonly physicalId?: string;
}

export type TemplateFacts = TemplateRead & { readonly type?: string; readonly templateArn?: string };

export interface StackFacts {
  readonly status: string;
  /** The root stack's id, when the stack is nested. */
  readonly rootId?: string;
  readonly rootStatus?: string;
}

/** What is known; undefined: not read yet, null: the template does not exist. */
export interface Facts {
  readonly event: EventFacts;
  readonly template?: TemplateFacts | null;
  readonly tags?: Tags | null;
  readonly stack?: StackFacts;
}

export type Need = { readonly need: 'template' | 'tags' | 'stack' | 'root' };

/** One call's worth of change: an UpdateProvisioningTemplate, or tags set and removed. */
export type Step =
  | { readonly write: TemplateWrite; readonly hint?: string }
  | { readonly set: Tags; readonly remove: readonly string[] };

export interface Plan {
  /** The log line that says why, and its fields. */
  readonly why: string;
  readonly details?: { readonly [key: string]: unknown };
  readonly steps: readonly Step[];
  /**
   * Run all of `revert` when a step fails after a settings write may have landed: an Update that renames
   * the template, for which no Delete will come (a Create's rollback Delete, owning the template, puts it back).
   */
  readonly revertOnFailure?: boolean;
  /** Ask CloudFormation afterwards whether it still wants the write (`planUndo`). */
  readonly check?: boolean;
  /** What puts back what the plan changes, if CloudFormation no longer wants it. */
  readonly revert?: readonly Step[];
  /** Fail the event with this reason once the steps are done. */
  readonly fail?: string;
  /** Put before the reason of a step that fails. */
  readonly context?: string;
}

export const need = (what: Need['need']): Need => ({ need: what });
export const isNeed = (x: unknown): x is Need => typeof x === 'object' && x !== null && 'need' in x;
export const done = (why: string): Plan => ({ why, steps: [] });
/** The log line of a rollback that puts settings back from the record. */
export const FROM_RECORD = 'rollback: put back from the record';
const refuse = (fail: string): Plan => ({ why: 'refused', steps: [], fail });

/** Where the stack is: any ROLLBACK status, DELETE_*, or anything else. */
export function phaseOf(status: string): 'rollback' | 'deleting' | 'forward' {
  return /ROLLBACK/.test(status) ? 'rollback' : status.startsWith('DELETE_') ? 'deleting' : 'forward';
}

/**
 * What the stack is doing. A nested stack being deleted asks its root: a
 * parent that rolls back deletes a nested stack the failed deployment added.
 */
export function stackPhase(f: Facts): ReturnType<typeof phaseOf> | Need {
  if (!f.stack) return need('stack');
  const own = phaseOf(f.stack.status);
  if (own !== 'deleting' || !f.stack.rootId) return own;
  if (f.stack.rootStatus === undefined) return need('root');
  return phaseOf(f.stack.rootStatus) === 'rollback' ? 'rollback' : own;
}

/** The fields `props` manage. */
export function fieldsOf(props: SettingsProperties): SettingField[] {
  return SETTINGS.filter((setting) => props[setting.key] !== undefined).map((setting) => setting.field);
}

/** Tags that hand the template back to the record's previous owner, or take ours off (`tags`: what it has). */
export function release(tags: Tags, record: TemplateRecord | undefined): Step {
  const to = record?.owner;
  const remove = [
    ...recordKeys(tags),
    ...keysOf(tags, APPLIED_TAG),
    ...(to ? [] : [OWNER_TAG, HOOK_TAG].filter((key) => key in tags)),
  ];
  return { set: to ? ownerTags(to, record.ownerHook) : {}, remove };
}

/**
 * The tag step that claims the template for `me` managing `hook`, with
 * `record` when given, and what it applies when a drift check asks.
 */
function claim(
  f: Facts,
  tags: Tags,
  hook: string | undefined,
  record?: TemplateRecord,
): { set: Tags; remove: string[] } | undefined {
  const { props, me } = f.event;
  const applied: Applied | undefined = props.Drift ? { ...desiredWrite(props), drift: props.Drift } : undefined;
  const set = {
    ...ownerTags(me, hook),
    ...(record ? recordTags(record) : {}),
    ...(applied ? pieces(APPLIED_TAG, applied) : {}),
  };
  const remove = [...(record ? recordKeys(tags) : []), ...keysOf(tags, APPLIED_TAG)].filter(
    (key) => set[key] === undefined,
  );
  const unchanged = Object.entries(set).every(([key, value]) => tags[key] === value);
  return unchanged && remove.length === 0 ? undefined : { set, remove };
}

/** The tag step that puts the tags `keys` name back as `tags` has them. */
function untag(tags: Tags, keys: string[]): Step {
  return {
    set: Object.fromEntries(Object.entries(tags).filter(([key]) => keys.includes(key))),
    remove: keys.filter((key) => !(key in tags)),
  };
}

/** The record an event takes: an earlier delivery's (it already wrote), or what the template has now. */
function recordFor(f: Facts, own: Ownership): TemplateRecord {
  const mine = own.owner === f.event.me;
  if (mine && own.record?.request === f.event.requestId) return own.record;
  // The owner it takes the template from: another resource, or for its own owner the one its record names.
  const from = mine ? own.record : own.owner ? { owner: own.owner, ownerHook: own.hook } : {};
  const previous = { owner: from?.owner, ownerHook: from?.ownerHook };
  return takeRecord(f.template!, { request: f.event.requestId, props: f.event.props, ...previous });
}

/**
 * The writes that take the template from the settings `from` manages to
 * those `to` manages: `to`'s values; a setting only `from` managed is put
 * back from `record` when given (the rollback of the event that took it),
 * else left as it is, except a hook `from` set, which comes off (`set`: the
 * tags do not say that the owner, this resource, manages another).
 */
function updateWrites(
  to: SettingsProperties,
  from: SettingsProperties,
  record: TemplateRecord | undefined,
  current: TemplateRead,
  set = true,
): TemplateWrite[] {
  const write = desiredWrite(to);
  const leaving = fieldsOf(from).filter((field) => !fieldsOf(to).includes(field));
  const hook = from.PreProvisioningHook?.TargetArn;
  if (leaving.includes('preProvisioningHook') && !record && set && current.preProvisioningHook?.targetArn === hook) {
    write.removePreProvisioningHook = true;
  }
  if (Object.keys(write).length === 1 && (!record || leaving.length === 0)) return [];
  write.enabled ??= current.enabled;
  return record ? restoreWrites(record, leaving, desiredWrite(from), write) : [write];
}

const writeSteps = (writes: TemplateWrite[]): Step[] => writes.map((write) => ({ write }));

/** Create, or Update. */
export function planApply(f: Facts): Plan | Need {
  const { props, old, kind } = f.event;
  const name = props.TemplateName;
  let desired: TemplateWrite;
  try {
    desired = desiredWrite(props);
  } catch (e) {
    return refuse((e as Error).message);
  }
  const same = old?.TemplateName === name ? old : undefined;
  if (f.template === undefined) return need('template');
  if (f.template === null) {
    const phase = kind === 'Update' ? stackPhase(f) : 'forward';
    if (isNeed(phase)) return phase;
    return phase === 'rollback'
      ? done('template gone; nothing to roll back')
      : refuse(`Provisioning template "${name}" does not exist. Create it first.`);
  }
  if (desired.preProvisioningHook && f.template.type !== 'FLEET_PROVISIONING') {
    return refuse(
      `Provisioning template "${name}" is of type ${f.template.type}: only FLEET_PROVISIONING takes a pre-provisioning hook. Nothing was changed.`,
    );
  }
  if (f.tags === undefined) return need('tags');
  const tags = f.tags ?? {};
  const own = readOwnership(tags);
  if (same) return planUpdate(f, tags, own, same);
  if (Object.keys(desired).length === 1) return done('nothing to write');
  // A Create, or an Update that renames the template, takes it over.
  const record = recordFor(f, own);
  const write = { ...desired, enabled: desired.enabled ?? f.template.enabled };
  const tagStep = claim(f, tags, desired.preProvisioningHook?.targetArn, record);
  const base = { templateName: name, enabled: f.template.enabled };
  // The tags exactly as they were (the previous owner's record included); for a redelivery, whose
  // tags were already ours, handed back to the previous owner.
  const back = tagStep ? untag(tags, [...Object.keys(tagStep.set), ...tagStep.remove]) : release(tags, record);
  const revert = [...writeSteps(restoreWrites(record, fieldsOf(props), write, base)), back];
  return {
    why: 'takeover',
    details: { from: own.owner },
    steps: [...(tagStep ? [tagStep] : []), { write }],
    revertOnFailure: kind === 'Update',
    check: true,
    revert,
  };
}

/**
 * An Update of the same template. One that starts managing a setting first
 * records what the template had; a rollback of that Update, which stops
 * managing it again, puts it back.
 */
function planUpdate(f: Facts, tags: Tags, own: Ownership, old: SettingsProperties): Plan | Need {
  const { props, me } = f.event;
  const template = f.template!;
  const added = fieldsOf(props).filter((field) => !fieldsOf(old).includes(field));
  const dropped = fieldsOf(old).filter((field) => !fieldsOf(props).includes(field));
  let rollback = false;
  if (dropped.length > 0 && own.owner === me && own.record?.props === propsDigest(old)) {
    const phase = stackPhase(f);
    if (isNeed(phase)) return phase;
    rollback = phase === 'rollback';
  }
  const role = old.ProvisioningRoleArn;
  if (!rollback && role && !props.ProvisioningRoleArn && old.ProvisioningRoleInApp === 'true') {
    if (template.provisioningRoleArn === role) {
      return refuse(
        `Provisioning template "${props.TemplateName}": provisioningRole was removed from the props, but the template still uses ${role}, ` +
          'which this app defines and this deployment may delete. Set provisioningRole to the role the template should use now. Nothing was changed.',
      );
    }
  }
  // A hook the old properties name that the hook tag does not: that Update never set it (cancelled, still queued).
  const set = own.owner !== me || own.hook === old.PreProvisioningHook?.TargetArn;
  const writes = updateWrites(props, old, rollback ? own.record : undefined, template, set);
  // One that adds a setting, or takes the template back from another owner, records first.
  const records = added.length > 0 || (own.owner !== undefined && own.owner !== me);
  const record = records ? recordFor(f, own) : rollback ? own.record : undefined;
  const tagStep = claim(f, tags, props.PreProvisioningHook?.TargetArn, records ? record : undefined);
  const left = dropped.filter((field) => field !== 'preProvisioningHook');
  const hookKept = dropped.length > left.length && !rollback && !writes[0]?.removePreProvisioningHook;
  const why = rollback
    ? FROM_RECORD
    : `update${left.length > 0 ? '; no longer managed, left as it is' : ''}${hookKept ? '; another hook now; left alone' : ''}`;
  const details = { noLongerManaged: left, hook: hookKept ? template.preProvisioningHook?.targetArn : undefined };
  const steps = [...(tagStep ? [tagStep] : []), ...writeSteps(writes)];
  // What the rollback's Update would write after this one (from the record this plan uses, if any).
  const after = {
    ...template,
    preProvisioningHook: desiredWrite(props).preProvisioningHook ?? template.preProvisioningHook,
  };
  // Undone, the owner and hook tags go back too, so the hook tag names the hook the template has again; the
  // record stays, for the rollback's Update that may come next (it names the same previous owner).
  const revert = [
    ...writeSteps(updateWrites(old, props, record, after)),
    ...(tagStep ? [untag(tags, [OWNER_TAG, HOOK_TAG])] : []),
  ];
  return { why, details, steps, ...(writes.length > 0 && { check: true, revert }) };
}
