/**
 * Random deployment histories (fast-check model-based testing): creates,
 * updates that add or drop any setting, new logical ids, moves to another
 * stack or into a nested stack, a failure at any point followed by the
 * rollback CloudFormation runs, redelivered events, out-of-band hook
 * changes and stack deletes, driven through the handler's modules against
 * the local IoT and CloudFormation fakes. The invariants are checked after
 * every step (test/support/histories.ts).
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
import { checkInvariants, deleteStack, deploy, H0, Model, NAME, Placed, propsArb, Real } from './support/histories';

const h = WireHarness.install(FAST_SETTINGS, true);

const RUNS = Number(process.env.HISTORIES_RUNS ?? 150);
const SEED = Number(process.env.HISTORIES_SEED ?? 20261204);
/** Within npm test, the histories stop after this long (those run so far count); a slow machine runs fewer. */
const TIME_LIMIT_MS = Number(process.env.HISTORIES_TIME_LIMIT_MS ?? 60_000);

type Cmd = fc.AsyncCommand<Model, Real>;

/** Properties in a few words: the settings, ARNs cut to their names. */
function brief(props: SettingsProperties): string {
  const { ServiceToken: _t, TemplateName: _n, ...rest } = props;
  return JSON.stringify(rest).replace(/arn:aws:[a-z]+:[^"]*?:(function:|role\/)/g, '');
}

/** A deployment of A (with its nested N) or B that puts the construct at `target` (none: removes it). */
class Deploy implements Cmd {
  constructor(
    readonly root: 'A' | 'B',
    readonly target: Omit<Placed, 'stack'> & { nested: boolean },
    readonly present: boolean,
    readonly failAfter: number | undefined,
    readonly redeliver: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const inTree = (p: Placed) => (this.root === 'A' ? p.stack !== 'B' : p.stack === 'B');
    const other = model.placed.filter((p) => !inTree(p));
    const mine = model.placed.filter(inTree);
    // One app has the construct in one place: while it moves between stacks, both have it with the same
    // properties, and the next deployment of either removes it (completing the move, or abandoning it).
    const present = this.present && !(other.length > 0 && mine.length > 0);
    const props = other[0]?.props ?? this.target.props;
    const stack = this.root === 'B' ? 'B' : this.target.nested ? 'N' : 'A';
    const after = present ? [{ stack, id: this.target.id, props } as Placed] : [];
    await deploy(model, real, this.root, after, this.failAfter, this.redeliver);
    checkInvariants(model, real);
  }
  toString = () =>
    `deploy ${this.root}: ${this.present ? `${this.target.nested ? 'N/' : ''}${this.target.id} ${brief(this.target.props)}` : 'removed'}${this.failAfter === undefined ? '' : `, failing after ${this.failAfter}`}${this.redeliver ? ', redelivered' : ''}`;
}

class DeleteStack implements Cmd {
  constructor(readonly root: 'A' | 'B') {}
  check = (model: Readonly<Model>) => model.exists.has(this.root);
  async run(model: Model, real: Real): Promise<void> {
    await deleteStack(model, real, this.root);
    checkInvariants(model, real);
  }
  toString = () => `delete stack ${this.root}`;
}

class OutOfBand implements Cmd {
  constructor(readonly hook: boolean) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    real.h.iot.modifyTemplate(NAME, { preProvisioningHook: this.hook ? H0 : undefined });
    real.trail.push(`out of band: hook ${this.hook ? 'set to someone else’s' : 'removed'}`);
    model.drift = true;
    checkInvariants(model, real);
  }
  toString = () => `out of band: hook ${this.hook ? 'H0' : 'removed'}`;
}

const deployTo = fc
  .tuple(
    fc.constantFrom('A' as const, 'B' as const),
    fc.record({ id: fc.constantFrom('S1' as const, 'S2' as const), props: propsArb, nested: fc.boolean() }),
    // Most deployments succeed; a third fail after 0, 1 or 2 of their events.
    fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat(2) }),
    fc.boolean(),
  )
  .map(([root, target, failAfter, redeliver]) => new Deploy(root, target, true, failAfter, redeliver));

const commands = [
  deployTo,
  deployTo,
  deployTo,
  fc
    .tuple(fc.constantFrom('A' as const, 'B' as const), fc.option(fc.nat(1), { nil: undefined }))
    .map(
      ([root, failAfter]) =>
        new Deploy(
          root,
          { id: 'S1', props: { ServiceToken: '', TemplateName: NAME }, nested: false },
          false,
          failAfter,
          false,
        ),
    ),
  fc.constantFrom('A' as const, 'B' as const).map((root) => new DeleteStack(root)),
  fc.boolean().map((hook) => new OutOfBand(hook)),
];

const history = fc.tuple(
  fc.record({ enabled: fc.boolean(), hook: fc.boolean() }),
  fc.commands(commands, { maxCommands: 10, size: '+1' }),
);

async function run([seed, cmds]: [{ enabled: boolean; hook: boolean }, Iterable<Cmd>]): Promise<void> {
  h.iot.reset();
  h.cfn.reset();
  h.cfnApi.reset();
  h.iot.putTemplate(NAME, { ...AS_IT_WAS, enabled: seed.enabled, preProvisioningHook: seed.hook ? H0 : undefined });
  const real: Real = { h, trail: [] };
  const model: Model = { placed: [], exists: new Set(), drift: false };
  await fc.asyncModelRun(() => ({ model, real }), cmds);
  if (process.env.DBG)
    process.stderr.write([...cmds].map(String).join('\n') + '\n--\n' + real.trail.join('\n') + '\n====\n');
}

test(`random deployment histories keep the template protected (seed ${SEED})`, async () => {
  if (process.env.HISTORIES_COUNT) {
    const samples = fc.sample(history, { seed: SEED, numRuns: RUNS });
    const failed: string[] = [];
    for (const sample of samples) await run(sample).catch((e: Error) => failed.push(e.message.split('\n')[0]));
    process.stderr.write(`${failed.length} of ${samples.length} histories failed\n${failed.slice(0, 20).join('\n')}\n`);
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
  // However slow the machine, some histories ran.
  expect(result.numRuns).toBeGreaterThanOrEqual(Math.min(RUNS, 20));
}, 180_000);
