/**
 * Random deployment histories (fast-check model-based testing): creates,
 * updates that add or drop any setting, renames (an Update to another
 * template), new logical ids, moves to another stack or into a nested stack
 * (the two copies with the same or other properties, the old one updated
 * while both are live), a failure at any point followed by the rollback
 * CloudFormation runs (the event then running cancelled, and run before,
 * during or after the rollback), events delivered again (at once, or after
 * CloudFormation took the first answer, up to after the deployment ended),
 * out-of-band hook changes, and stack deletes (a stack created again gets a
 * new id), driven through the handler's modules against the local IoT and
 * CloudFormation fakes. The invariants are checked after every step
 * (test/support/histories.ts), and after each rollback
 * (test/support/history-events.ts).
 *
 * Seeded and reproducible: HISTORIES_SEED and HISTORIES_RUNS choose the
 * seed and how many histories (`npm run test:histories` runs 1,000); a
 * failure prints the seed and the path that replays it, and the events sent.
 * HISTORIES_COUNT=1 runs every history to the end and counts those that fail
 * instead of stopping at the first.
 */
import * as fc from 'fast-check';
import type { SettingsProperties } from '../lib/handler-contract';
import { FAST_SETTINGS, WireHarness } from './support/cfn';
import { AS_IT_WAS } from './support/fake-iot';
import { deleteStack, deploy, Faults, Redelivery } from './support/history-events';
import { checkInvariants, H0, head, Id, Model, Placed, propsArb, Reached, Real, TEMPLATES } from './support/histories';

const h = WireHarness.install(FAST_SETTINGS, true);

const RUNS = Number(process.env.HISTORIES_RUNS ?? 150);
const SEED = Number(process.env.HISTORIES_SEED ?? 20261204);
/** Within npm test, the histories stop after this long (those run so far count); a slow machine runs fewer. */
const TIME_LIMIT_MS = Number(process.env.HISTORIES_TIME_LIMIT_MS ?? 60_000);

type Cmd = fc.AsyncCommand<Model, Real>;

/** Properties in a few words: the settings, ARNs cut to their names. */
function brief(props: SettingsProperties): string {
  const { ServiceToken: _t, ...rest } = props;
  return JSON.stringify(rest).replace(/arn:aws:[a-z]+:[^"]*?:(function:|role\/)/g, '');
}

function faultsText(f: Faults): string {
  const failing =
    f.failAfter === undefined
      ? ''
      : `, failing after ${f.failAfter}${f.cancel === undefined ? '' : ` (cancelled, runs ${['first', 'after its rollback', 'last'][f.cancel]})`}`;
  const again = f.redeliver.some((r) => r !== 'no') ? `, again: ${f.redeliver.join(' ')}` : '';
  return failing + again;
}

/** A deployment of A (with its nested N) or B that puts the construct at `target` (none: removes it). */
class Deploy implements Cmd {
  constructor(
    readonly root: 'A' | 'B',
    readonly target: { id: Id; props: SettingsProperties; nested: boolean; sameProps: boolean },
    readonly present: boolean,
    readonly faults: Faults,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const inTree = (p: Placed) => (this.root === 'A' ? p.stack !== 'B' : p.stack === 'B');
    const other = model.placed.find((p) => !inTree(p));
    const mine = model.placed.find(inTree);
    // One app has the construct in one place; while it moves between stacks both have it, with the same
    // properties or not, and either can be deployed: updated, or removed (finishing or abandoning the move).
    const props = this.target.sameProps && other ? other.props : this.target.props;
    if (other && mine && JSON.stringify(props) !== JSON.stringify(other.props)) real.reached.add('movedWithOtherProps');
    const stack = this.root === 'B' ? 'B' : this.target.nested ? 'N' : 'A';
    // Known gap (docs/failure-behaviour.md, "Only one previous owner is remembered"): while both copies are
    // live, neither takes a new logical id or moves into or out of N (a second takeover).
    const where = other && mine ? { stack: mine.stack, id: mine.id } : { stack, id: this.target.id };
    const after = this.present ? [{ ...where, props, seq: mine?.seq ?? 0 } as Placed] : [];
    // Known gap (docs/failure-behaviour.md, "While a construct moves between stacks and both copies are
    // deployed, an Update of the copy that does not have the template ..."): that Update takes the template
    // back, and a rollback leaves it with that copy. Here such a deployment does not fail.
    const takesBack = mine && other && this.present && head(model, mine.props.TemplateName) !== mine;
    const faults = takesBack ? { ...this.faults, failAfter: undefined } : this.faults;
    await deploy(model, real, this.root, after, faults);
    checkInvariants(model, real);
  }
  toString = () =>
    `deploy ${this.root}: ${this.present ? `${this.target.nested ? 'N/' : ''}${this.target.id} ${this.target.sameProps ? '(as the other copy) ' : ''}${brief(this.target.props)}` : 'removed'}${faultsText(this.faults)}`;
}

class DeleteStack implements Cmd {
  constructor(
    readonly root: 'A' | 'B',
    readonly redeliver: readonly Redelivery[],
  ) {}
  check = (model: Readonly<Model>) => model.ids[this.root] !== undefined;
  async run(model: Model, real: Real): Promise<void> {
    real.trail.push(`(stack ${this.root} deleted)`);
    await deleteStack(model, real, this.root, this.redeliver);
    checkInvariants(model, real);
  }
  toString = () => `delete stack ${this.root}${faultsText({ redeliver: this.redeliver })}`;
}

class OutOfBand implements Cmd {
  constructor(
    readonly template: string,
    readonly hook: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    real.h.iot.modifyTemplate(this.template, { preProvisioningHook: this.hook ? H0 : undefined });
    real.trail.push(`out of band: ${this.template}'s hook ${this.hook ? 'set to someone else’s' : 'removed'}`);
    model.drift[this.template] = model.seq;
    checkInvariants(model, real);
  }
  toString = () => `out of band: ${this.template} hook ${this.hook ? 'H0' : 'removed'}`;
}

/** Most events are delivered once. */
const redeliverArb = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.constant<Redelivery>('no') },
    { weight: 1, arbitrary: fc.constantFrom<Redelivery>('during', 'after', 'later', 'end') },
  ),
  { maxLength: 6 },
);

const faultsArb: fc.Arbitrary<Faults> = fc.record({
  // Most deployments succeed; a third fail after 0, 1 or 2 of their events.
  failAfter: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat(2) }),
  cancel: fc.option(fc.constantFrom<0 | 1 | 2>(0, 1, 2), { nil: undefined }),
  redeliver: redeliverArb,
});

const deployTo = fc
  .tuple(
    fc.constantFrom('A' as const, 'B' as const),
    fc.record({
      id: fc.constantFrom<Id>('S1', 'S2'),
      props: propsArb,
      nested: fc.boolean(),
      sameProps: fc.boolean(),
    }),
    faultsArb,
  )
  .map(([root, target, faults]) => new Deploy(root, target, true, faults));

const commands = [
  deployTo,
  deployTo,
  deployTo,
  fc
    .tuple(fc.constantFrom('A' as const, 'B' as const), faultsArb)
    .map(
      ([root, faults]) =>
        new Deploy(
          root,
          { id: 'S1', props: { ServiceToken: '', TemplateName: TEMPLATES[0] }, nested: false, sameProps: false },
          false,
          { ...faults, failAfter: faults.failAfter === undefined ? undefined : Math.min(faults.failAfter, 1) },
        ),
    ),
  fc
    .tuple(fc.constantFrom('A' as const, 'B' as const), redeliverArb)
    .map(([root, again]) => new DeleteStack(root, again)),
  fc.tuple(fc.constantFrom(...TEMPLATES), fc.boolean()).map(([template, hook]) => new OutOfBand(template, hook)),
];

type Seed = { enabled: boolean; hook: boolean };
const history = fc.tuple(
  fc.tuple(
    fc.record({ enabled: fc.boolean(), hook: fc.boolean() }),
    fc.record({ enabled: fc.boolean(), hook: fc.boolean() }),
  ),
  fc.commands(commands, { maxCommands: 10, size: '+1' }),
);

const reached: Reached = {
  histories: 0,
  undone: 0,
  renamed: 0,
  movedWithOtherProps: 0,
  recreated: 0,
  lateRedelivery: 0,
};

async function run([seeds, cmds]: [[Seed, Seed], Iterable<Cmd>]): Promise<void> {
  h.iot.reset();
  h.cfn.reset();
  h.cfnApi.reset();
  h.cfnApi.perStack = true;
  h.logs.length = 0;
  TEMPLATES.forEach((name, i) =>
    h.iot.putTemplate(name, {
      ...AS_IT_WAS,
      enabled: seeds[i].enabled,
      preProvisioningHook: seeds[i].hook ? H0 : undefined,
    }),
  );
  const real: Real = { h, trail: [], reached: new Set() };
  const model: Model = { placed: [], ids: {}, made: [], seq: 0, drift: {} };
  try {
    await fc.asyncModelRun(() => ({ model, real }), cmds);
  } finally {
    if (h.logs.some((l) => l.message === 'undoing the write')) real.reached.add('undone');
    reached.histories++;
    for (const what of real.reached) reached[what]++;
  }
  if (process.env.DBG)
    process.stderr.write([...cmds].map(String).join('\n') + '\n--\n' + real.trail.join('\n') + '\n====\n');
}

test(`random deployment histories keep the template protected (seed ${SEED})`, async () => {
  if (process.env.HISTORIES_COUNT) {
    const samples = fc.sample(history, { seed: SEED, numRuns: RUNS });
    const failed: string[] = [];
    for (const sample of samples) await run(sample).catch((e: Error) => failed.push(e.message.split('\n')[0]));
    process.stderr.write(`${failed.length} of ${samples.length} histories failed\n${failed.slice(0, 40).join('\n')}\n`);
    process.stderr.write(`reached: ${JSON.stringify(reached)}\n`);
    expect(samples).toHaveLength(RUNS);
    return;
  }
  const result = await fc.check(fc.asyncProperty(history, run), {
    seed: SEED,
    numRuns: RUNS,
    interruptAfterTimeLimit: TIME_LIMIT_MS,
    markInterruptAsFailure: false,
  });
  if (result.failed) {
    throw new Error(`${fc.defaultReportMessage(result)}\n${(result.errorInstance as Error | undefined)?.message}`);
  }
  process.stderr.write(`histories reached: ${JSON.stringify(reached)}\n`);
  // However slow the machine, some histories ran.
  expect(result.numRuns).toBeGreaterThanOrEqual(Math.min(RUNS, 20));
  // The model reaches what it claims to: in 150 histories, each of these at least once.
  if (reached.histories >= 100) {
    for (const [what, count] of Object.entries(reached)) expect([what, count]).not.toEqual([what, 0]);
  }
}, 180_000);
