/**
 * The events CloudFormation sends for one deployment of a random history
 * (./histories.ts has the model and the invariants), in the order it sends
 * them, with the stack and resource statuses the handler reads meanwhile:
 *
 * - forward: Creates, then Updates (an Update whose TemplateName changes is a
 *   rename: CloudFormation keeps the resource and, once the handler answers
 *   with the new name, deletes the old physical one in the cleanup);
 * - success: the cleanup's Deletes (removed resources, renamed ones' old
 *   templates);
 * - failure after `failAfter` answered events: the rollback's Updates back,
 *   then its cleanup's Deletes (created resources, renamed ones' new
 *   templates). The event that was running when the other resource failed
 *   may be cancelled: CloudFormation marks it FAILED and rolls it back
 *   anyway, and the handler runs it before, during or after the rollback
 *   (its answer is ignored);
 * - redeliveries (Lambda delivers at least once): at once, while the first
 *   still runs, or after CloudFormation took the first answer and moved on
 *   (its answer then ignored): right after it, after the next event, or once
 *   the deployment is over (`*_COMPLETE`).
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { SettingsProperties } from '../../lib/handler-contract';
import { ownerId } from '../../lambda/record';
import { expectSame, inStep, Model, ownershipOf, Placed, Real, settingsOf, StackKey, TEMPLATES } from './histories';

const ACCOUNT_ARN = 'arn:aws:cloudformation:eu-west-1:123456789012:stack';
const STACK_NAMES: { [K in StackKey]: string } = { A: 'Fleet', B: 'Other', N: 'Fleet-DevicesNestedStack-N1' };

/** When a redelivery comes: never, while the first runs, or after CloudFormation took the first answer. */
export type Redelivery = 'no' | 'during' | 'after' | 'later' | 'end';

export interface Faults {
  /** Another resource fails after this many of the deployment's events were answered (none: it succeeds). */
  readonly failAfter?: number;
  /** The event running when it fails is cancelled, and runs before (0), after its own rollback (1) or at the end (2). */
  readonly cancel?: 0 | 1 | 2;
  /** For each event in order, whether and when it is delivered again. */
  readonly redeliver: readonly Redelivery[];
}

/** One event to send, and the statuses CloudFormation shows when it comes. */
interface Delivery {
  readonly event: CloudFormationCustomResourceEvent;
  readonly stack: StackKey;
  /** Its stack's status and, for N, its root's (undefined: as they are). */
  readonly status?: string;
  readonly rootStatus?: string;
  /** CloudFormation has moved on: the resource status is as it is, and the answer is ignored. */
  readonly ignored?: boolean;
  readonly note?: string;
  /** A rollback's Update. */
  readonly back?: boolean;
  /**
   * The Delete of a renamed resource's other template (its physical id before
   * or after the rename): the resource itself stays, and keeps its status.
   */
  readonly replaced?: boolean;
}

/** A CloudFormation state change between events. */
type Item = Delivery | (() => void);

const isDelivery = (x: Item): x is Delivery => typeof x !== 'function';

/** A new id for `stack`, unlike any it had (the uuid's first 8 characters are in the owner tag). */
function newStackId(model: Model, real: Real, stack: StackKey): string {
  if (model.made.includes(stack)) real.reached.add('recreated');
  model.made.push(stack);
  const n = model.made.length;
  return `${ACCOUNT_ARN}/${STACK_NAMES[stack]}/${stack.toLowerCase()}${n.toString(16).padStart(7, '0')}-0000-4000-8000-000000000000`;
}

const brief = (props: unknown) =>
  JSON.stringify(props).replace(/arn:aws:[a-z]+:[^"]*?:(function:|role\/)|"ServiceToken":"[^"]*",/g, '');

async function send(real: Real, ids: Model['ids'], d: Delivery): Promise<void> {
  const { h } = real;
  const stackId = ids[d.stack]!;
  if (d.status) h.cfnApi.stacks.set(stackId, { status: d.status, rootId: d.stack === 'N' ? ids.A : undefined });
  if (d.rootStatus) h.cfnApi.stacks.set(ids.A!, { status: d.rootStatus });
  const sent = await h.send(d.event, { ignored: d.ignored || d.replaced });
  const e = d.event;
  const physical = 'PhysicalResourceId' in e ? ` (${e.PhysicalResourceId})` : '';
  const stacks = h.cfnApi.stacks.get(stackId)?.status;
  const root = d.stack === 'N' ? `, root ${h.cfnApi.stacks.get(ids.A!)?.status}` : '';
  const resource = h.cfnApi.status(e.LogicalResourceId, stackId);
  const line = `${d.note ?? ''}${e.RequestType}${physical} ${d.stack}/${e.LogicalResourceId} [${stacks}${root}; ${resource}]`;
  const r = sent.response;
  real.trail.push(`${line} ${brief(e.ResourceProperties)} -> ${r?.Status} ${r?.Reason ?? ''}`);
  // No event fails: AWS refuses nothing in these histories. One whose answer CloudFormation ignores may
  // fail after undoing a write that the rollback overtook.
  const undone =
    d.ignored && /stopped (creating|updating) this resource while it was being written/.test(r?.Reason ?? '');
  if (r?.Status !== 'SUCCESS' && !undone) {
    throw new Error(`${line} answered ${r?.Status}: ${r?.Reason}\n${real.trail.join('\n')}`);
  }
}

/** Insert the redeliveries into `items`, then send everything; `end` sets the statuses once it is over. */
async function play(real: Real, ids: Model['ids'], items: Item[], redeliver: readonly Redelivery[], end: () => void) {
  const deliveries = items.filter(isDelivery);
  const after = new Map<Item, Delivery[]>();
  const atEnd: Delivery[] = [];
  deliveries.forEach((d, i) => {
    let when = redeliver[i] ?? 'no';
    // Known gap (docs/failure-behaviour.md): a rollback's Update delivered again after it answered takes itself
    // for a stale forward Update and writes the failed deployment's settings back. Only at once, here.
    if (d.back && when !== 'no') when = 'during';
    if (when === 'no') return;
    const again: Delivery = {
      ...d,
      status: undefined,
      rootStatus: undefined,
      ignored: d.ignored || when !== 'during',
      note: `again (${when}): `,
    };
    if (when !== 'during') real.reached.add('lateRedelivery');
    if (when === 'end') atEnd.push(again);
    else {
      const at = when === 'later' ? (deliveries[i + 1] ?? d) : d;
      after.set(at, [...(after.get(at) ?? []), again]);
    }
  });
  for (const item of items) {
    if (!isDelivery(item)) item();
    else {
      await send(real, ids, item);
      for (const again of after.get(item) ?? []) await send(real, ids, again);
    }
  }
  end();
  for (const again of atEnd) await send(real, ids, again);
}

const same = (a: Pick<Placed, 'stack' | 'id'>, b: Pick<Placed, 'stack' | 'id'>) => a.stack === b.stack && a.id === b.id;

/**
 * A deployment of stack `root` (A with its nested N, or B) from the model's
 * placements to `after`, with `faults`; then the model follows and the
 * rollback invariants are checked.
 */
export async function deploy(
  model: Model,
  real: Real,
  root: 'A' | 'B',
  after: Placed[],
  faults: Faults,
): Promise<void> {
  const { h } = real;
  const inTree = (p: Placed) => (root === 'A' ? p.stack !== 'B' : p.stack === 'B');
  const before = model.placed.filter(inTree);
  const oldOf = (p: Placed) => before.find((b) => same(p, b))!;
  const created = after.filter((a) => !before.some((b) => same(a, b)));
  const updated = after.filter((a) =>
    before.some((b) => same(a, b) && JSON.stringify(a.props) !== JSON.stringify(b.props)),
  );
  const removed = before.filter((b) => !after.some((a) => same(a, b)));
  const rootNew = !model.ids[root];
  const nNew = root === 'A' && !model.ids.N && after.some((p) => p.stack === 'N');
  const nGone = root === 'A' && !!model.ids.N && !after.some((p) => p.stack === 'N');
  const ids = { ...model.ids };
  if (rootNew) ids[root] = newStackId(model, real, root);
  if (nNew) ids.N = newStackId(model, real, 'N');
  const renamed = (p: Placed) => updated.includes(p) && oldOf(p).props.TemplateName !== p.props.TemplateName;
  if (updated.some(renamed)) real.reached.add('renamed');

  /** The statuses of p's stack (and its root) in a phase of the deployment. */
  type Phase = 'forward' | 'cleanup' | 'rollback' | 'rollback-cleanup';
  const rootPhase: { [P in Phase]: string } = {
    forward: rootNew ? 'CREATE_IN_PROGRESS' : 'UPDATE_IN_PROGRESS',
    cleanup: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
    rollback: rootNew ? 'ROLLBACK_IN_PROGRESS' : 'UPDATE_ROLLBACK_IN_PROGRESS',
    'rollback-cleanup': rootNew ? 'ROLLBACK_IN_PROGRESS' : 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
  };
  // A nested stack that the deployment adds is deleted by its rollback; one it removes, by its cleanup.
  const nPhase: { [P in Phase]: string } = {
    forward: nNew ? 'CREATE_IN_PROGRESS' : 'UPDATE_IN_PROGRESS',
    cleanup: nGone ? 'DELETE_IN_PROGRESS' : 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
    rollback: 'UPDATE_ROLLBACK_IN_PROGRESS',
    'rollback-cleanup': nNew ? 'DELETE_IN_PROGRESS' : 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
  };
  const ownerIdOf = (p: Placed) => ownerId({ StackId: ids[p.stack]!, LogicalResourceId: p.id });
  const at = <E extends CloudFormationCustomResourceEvent>(e: E, p: Placed): E => ({ ...e, StackId: ids[p.stack]! });
  const delivery = (
    event: CloudFormationCustomResourceEvent,
    p: Placed,
    phase: Phase,
    more: Partial<Delivery> = {},
  ): Delivery => ({
    event: at(event, p),
    stack: p.stack,
    status: p.stack === 'N' ? nPhase[phase] : rootPhase[phase],
    rootStatus: p.stack === 'N' ? rootPhase[phase] : undefined,
    ...more,
  });
  const create = (p: Placed) => delivery(h.createEvent(p.props, p.id), p, 'forward');
  const update = (p: Placed) =>
    delivery(h.updateEvent(oldOf(p).props.TemplateName, p.props, oldOf(p).props, p.id), p, 'forward');
  const remove = (p: Placed, props: SettingsProperties, phase: Phase, replaced = false) =>
    delivery(h.deleteEvent(props.TemplateName, props, p.id), p, phase, { replaced });
  const forward = [...created.map((p) => ({ p, d: create(p) })), ...updated.map((p) => ({ p, d: update(p) }))];

  const snapshot = TEMPLATES.map((name) => {
    const t = h.iot.template(name)!;
    return { name, clean: inStep(model, t), settings: settingsOf(t), tags: ownershipOf(h.iot.tagsOf(name)!) };
  });
  const failing = faults.failAfter !== undefined;
  const answered = forward.slice(0, failing ? faults.failAfter : undefined);
  const cancelled = failing && faults.cancel !== undefined ? forward[answered.length] : undefined;
  const items: Item[] = answered.map((f) => f.d);
  const final = (status: string, nStatus: string) => () => {
    h.cfnApi.stacks.set(ids[root]!, { status });
    if (root === 'A' && ids.N) h.cfnApi.stacks.set(ids.N, { status: nStatus, rootId: ids.A });
  };
  let end: () => void;
  if (!failing) {
    for (const p of removed) items.push(remove(p, p.props, 'cleanup'));
    for (const p of updated.filter(renamed)) items.push(remove(p, oldOf(p).props, 'cleanup', true));
    end = final(
      rootNew ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE',
      nGone ? 'DELETE_COMPLETE' : nNew ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE',
    );
  } else {
    real.trail.push(`  (another resource fails: ${root} rolls back)`);
    const rolled = [...answered, ...(cancelled ? [cancelled] : [])].reverse();
    const back: Delivery[] = [];
    const cleanup: Delivery[] = [];
    for (const { p, d } of rolled) {
      if (d.event.RequestType === 'Create') {
        cleanup.push(remove(p, p.props, 'rollback-cleanup'));
        continue;
      }
      const old = oldOf(p).props;
      // CloudFormation knows the new physical id (the new template) only from an answer it took.
      const physical = d === cancelled?.d ? old.TemplateName : p.props.TemplateName;
      back.push(delivery(h.updateEvent(physical, old, p.props, p.id), p, 'rollback', { back: true }));
      if (renamed(p) && d !== cancelled?.d) cleanup.push(remove(p, p.props, 'rollback-cleanup', true));
    }
    const rollback: Item[] = [...back, ...cleanup];
    if (cancelled) {
      const { p, d } = cancelled;
      const failed = `${d.event.RequestType.toUpperCase()}_FAILED`;
      const late: Delivery = {
        ...d,
        status: undefined,
        rootStatus: undefined,
        ignored: true,
        note: 'cancelled, runs late: ',
      };
      const own = rollback.findIndex((x) => isDelivery(x) && x.event.LogicalResourceId === p.id && x.stack === p.stack);
      rollback.splice([0, own + 1, rollback.length][faults.cancel!], 0, late);
      // CloudFormation cancels it and starts the rollback.
      rollback.unshift(() => {
        h.cfnApi.setStatus(p.id, failed, ids[p.stack]);
        h.cfnApi.stacks.set(ids[root]!, { status: rootPhase.rollback });
        if (p.stack === 'N') h.cfnApi.stacks.set(ids.N!, { status: nPhase.rollback, rootId: ids.A });
      });
    }
    items.push(...rollback);
    end = final(
      rootNew ? 'ROLLBACK_COMPLETE' : 'UPDATE_ROLLBACK_COMPLETE',
      nNew ? 'DELETE_COMPLETE' : 'UPDATE_ROLLBACK_COMPLETE',
    );
  }
  await play(real, ids, items, faults.redeliver, end);

  if (failing) {
    // A stack whose creation rolled back is deleted before the next deployment creates it again.
    if (rootNew) h.cfnApi.stacks.set(ids[root]!, { status: 'DELETE_COMPLETE' });
    for (const s of snapshot) {
      const t = h.iot.template(s.name)!;
      // Every setting as it was before the deployment (if the template was in step with its props then).
      if (s.clean) expectSame(real, settingsOf(t), s.settings, `${s.name} after the rollback`);
      // The template's ownership as it was. Intended exception (docs/ownership.md: an Update that adds a
      // setting claims the template; no rollback of an Update hands it back): a template no one owned may be
      // left owned by a resource this deployment updated, which is still there and manages it.
      const now = ownershipOf(h.iot.tagsOf(s.name)!);
      const claimed = updated.some((p) => p.props.TemplateName === s.name && now.owner === ownerIdOf(p));
      if (!(s.tags.owner === undefined && claimed && now.previous === undefined)) {
        expectSame(real, now, s.tags, `${s.name}'s tags after the rollback`);
      }
    }
    return;
  }
  const written = new Map([...created, ...updated].map((p) => [p, ++model.seq]));
  model.placed = [
    ...model.placed.filter((p) => !inTree(p)),
    ...after.map((p) => ({ ...p, seq: written.get(p) ?? p.seq })),
  ];
  model.ids = ids;
  if (nGone) delete model.ids.N;
}

/** Delete stack `root` (and N with A). */
export async function deleteStack(
  model: Model,
  real: Real,
  root: 'A' | 'B',
  redeliver: readonly Redelivery[],
): Promise<void> {
  const { h } = real;
  const ids = model.ids;
  const items: Delivery[] = model.placed
    .filter((x) => (root === 'A' ? x.stack !== 'B' : x.stack === 'B'))
    .map((p) => ({
      event: { ...h.deleteEvent(p.props.TemplateName, p.props, p.id), StackId: ids[p.stack]! },
      stack: p.stack,
      status: 'DELETE_IN_PROGRESS',
      rootStatus: p.stack === 'N' ? 'DELETE_IN_PROGRESS' : undefined,
    }));
  const stacks = root === 'A' ? (['A', 'N'] as const) : (['B'] as const);
  await play(real, ids, items, redeliver, () => {
    for (const s of stacks) if (ids[s]) h.cfnApi.stacks.set(ids[s]!, { status: 'DELETE_COMPLETE' });
  });
  model.placed = model.placed.filter((x) => (root === 'A' ? x.stack === 'B' : x.stack !== 'B'));
  model.ids = { ...ids };
  for (const s of stacks) delete model.ids[s];
}
