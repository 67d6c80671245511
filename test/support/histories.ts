/**
 * Random deployment histories for test/histories.test.ts: a model of where
 * the app has the construct (stacks A and B, and N nested in A; logical ids
 * S1 and S2; templates T1 and T2), and the events CloudFormation sends for
 * each deployment (./history-events.ts), failed or not, with its rollback,
 * redelivered and cancelled events. Each command is one deployment (or an
 * out-of-band change); after each, the invariants are checked.
 */
import * as fc from 'fast-check';
import { desiredWrite, SettingsProperties } from '../../lib/handler-contract';
import { readOwnership } from '../../lambda/record';
import { settings, WireHarness } from './cfn';
import { functionArn, roleArn, TemplateState } from './fake-iot';

/** The templates: T1, and T2 that a rename (an Update whose TemplateName changes) moves to. */
export const NAME = 'FleetTemplate';
export const TEMPLATES = [NAME, 'SpareTemplate'] as const;
export const H0 = { targetArn: functionArn('SomeoneElsesHook'), payloadVersion: '2020-04-01' };
const OURS = [functionArn('HookOne'), functionArn('HookTwo')];

export type StackKey = 'A' | 'B' | 'N';
export type Id = 'S1' | 'S2';

/** Where the construct is deployed, and with which properties. */
export interface Placed {
  readonly stack: StackKey;
  readonly id: Id;
  readonly props: SettingsProperties;
  /** When it last wrote its template (a Create, an Update): of the live ones, the last to write owns it. */
  readonly seq: number;
}

export interface Model {
  placed: Placed[];
  /** Each stack's id while it exists: one created again gets a new id (CloudFormation's end in a fresh uuid). */
  ids: { [K in StackKey]?: string };
  /** The stacks created so far, in order (numbers the next stack id). */
  made: StackKey[];
  /** Writes so far (orders the placements' `seq`). */
  seq: number;
  /** Per template, the `seq` at its last out-of-band hook change. */
  drift: { [template: string]: number };
}

/** What the histories reached, over the whole run. */
export interface Reached {
  histories: number;
  /** Histories in which an undo after an overtaken write (planUndo) ran. */
  undone: number;
  /** Histories with a rename, a move with other properties, a stack created again, a redelivery after the answer. */
  renamed: number;
  movedWithOtherProps: number;
  recreated: number;
  lateRedelivery: number;
}

export interface Real {
  readonly h: WireHarness;
  /** What each history did, for the failure message. */
  readonly trail: string[];
  /** What this history reached (counted into `Reached` at its end). */
  readonly reached: Set<keyof Reached>;
}

/** Properties: any subset of the settings, each from a small set of values; T1 more often than T2. */
export const propsArb: fc.Arbitrary<SettingsProperties> = fc
  .record(
    {
      Description: fc.constantFrom('first', 'second'),
      Enabled: fc.constantFrom('true', 'false'),
      DefaultVersionId: fc.constantFrom('1', '2', '3'),
      ProvisioningRoleArn: fc.constantFrom(roleArn('RoleOne'), roleArn('RoleTwo')),
      PreProvisioningHook: fc.constantFrom(...OURS).map((TargetArn) => ({ TargetArn, PayloadVersion: '2020-04-01' })),
    },
    { requiredKeys: [] },
  )
  .chain((p) =>
    fc
      .oneof({ weight: 3, arbitrary: fc.constant(TEMPLATES[0]) }, { weight: 1, arbitrary: fc.constant(TEMPLATES[1]) })
      .map((TemplateName) => settings({ TemplateName, ...p })),
  );

export const settingsOf = (t: TemplateState) => ({
  description: t.description,
  enabled: t.enabled,
  defaultVersionId: t.defaultVersionId,
  provisioningRoleArn: t.provisioningRoleArn,
  hook: t.preProvisioningHook?.targetArn,
});

/** The ownership our tags on the template hold: owner and hook tags, the record's previous owner, a pending role. */
export function ownershipOf(tags: { [key: string]: string }) {
  const own = readOwnership(tags);
  return {
    owner: own.owner,
    hook: own.hook,
    previous: own.record?.owner,
    previousHook: own.record?.ownerHook,
    pendingRole: own.pendingRole,
  };
}

/** The live resource that manages `template` and wrote it last: the one whose settings it should have. */
export function head(model: Model, template: string): Placed | undefined {
  return model.placed
    .filter((p) => p.props.TemplateName === template)
    .reduce<Placed | undefined>((a, b) => (a && a.seq > b.seq ? a : b), undefined);
}

/** The template has the settings of the resource that wrote it last (none: any settings will do). */
export function inStep(model: Model, t: TemplateState): boolean {
  const p = head(model, t.templateName);
  if (!p) return true;
  const { templateName: _n, preProvisioningHook, ...rest } = desiredWrite(p.props);
  const same = Object.entries(rest).every(([k, v]) => (t as unknown as Record<string, unknown>)[k] === v);
  return same && (!preProvisioningHook || t.preProvisioningHook?.targetArn === preProvisioningHook.targetArn);
}

export function expectSame(real: Real, actual: unknown, expected: unknown, when: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(
      `${when}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}\n${real.trail.join('\n')}`,
    );
  }
}

/** The invariants every history keeps after each step, on each template. */
export function checkInvariants(model: Model, real: Real): void {
  for (const name of TEMPLATES) {
    const t = real.h.iot.template(name)!;
    const hook = t.preProvisioningHook?.targetArn;
    const live = model.placed.filter((p) => p.props.TemplateName === name);
    const last = head(model, name);
    const wanted = last?.props.PreProvisioningHook?.TargetArn;
    // The hook of the resource that wrote the template last is on it (unless changed out of band since).
    if (wanted && !((model.drift[name] ?? -1) >= last!.seq)) expectSame(real, hook, wanted, `${name}: a managed hook`);
    // No template keeps one of our hooks once no live resource that manages it manages that hook.
    if (hook && OURS.includes(hook) && !live.some((p) => p.props.PreProvisioningHook?.TargetArn === hook)) {
      expectSame(real, hook, undefined, `${name}: a hook nobody manages`);
    }
    // Once nothing manages the template, no owner tag is left on it.
    if (live.length === 0) {
      const owner = real.h.iot.tagsOf(name)!['iot-provisioning-template-settings:owner'];
      expectSame(real, owner, undefined, `${name}: owner tag`);
    }
  }
}
