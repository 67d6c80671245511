/**
 * Random deployment histories for test/histories.test.ts: a model of where
 * the app has the construct (stacks A and B, and N nested in A; logical ids
 * S1 and S2), and the events CloudFormation sends for each deployment,
 * failed or not, with its rollback. Each command is one deployment (or an
 * out-of-band change); after each, the invariants are checked.
 */
import * as fc from 'fast-check';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { desiredWrite, SettingsProperties } from '../../lib/handler-contract';
import { settings, WireHarness } from './cfn';
import { functionArn, roleArn, TemplateState } from './fake-iot';

export const NAME = 'FleetTemplate';
export const H0 = { targetArn: functionArn('SomeoneElsesHook'), payloadVersion: '2020-04-01' };
const OURS = [functionArn('HookOne'), functionArn('HookTwo')];
const ACCOUNT_ARN = 'arn:aws:cloudformation:eu-west-1:123456789012:stack';
export const STACKS = {
  A: `${ACCOUNT_ARN}/Fleet/aaaaaaaa-0000-4000-8000-000000000000`,
  B: `${ACCOUNT_ARN}/Other/bbbbbbbb-0000-4000-8000-000000000000`,
  N: `${ACCOUNT_ARN}/Fleet-DevicesNestedStack-N1/cccccccc-0000-4000-8000-000000000000`,
} as const;
type StackKey = keyof typeof STACKS;
type Id = 'S1' | 'S2';

/** Where the construct is deployed, and with which properties. */
export interface Placed {
  readonly stack: StackKey;
  readonly id: Id;
  readonly props: SettingsProperties;
}

export interface Model {
  placed: Placed[];
  /** Stacks that exist (N exists while it holds the construct). */
  exists: Set<StackKey>;
  /** A hook was changed out of band since every live resource last wrote. */
  drift: boolean;
}

export interface Real {
  readonly h: WireHarness;
  /** What each history did, for the failure message. */
  readonly trail: string[];
}

/** Properties: any subset of the settings, each from a small set of values. */
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
  .map((p) => settings({ TemplateName: NAME, ...p }));

const settingsOf = (t: TemplateState) => ({
  description: t.description,
  enabled: t.enabled,
  defaultVersionId: t.defaultVersionId,
  provisioningRoleArn: t.provisioningRoleArn,
  hook: t.preProvisioningHook?.targetArn,
});

/** Every live resource's settings are on the template. */
function inStep(model: Model, t: TemplateState): boolean {
  return model.placed.every((p) => {
    const { templateName: _n, preProvisioningHook, ...rest } = desiredWrite(p.props);
    const same = Object.entries(rest).every(([k, v]) => (t as unknown as Record<string, unknown>)[k] === v);
    return same && (!preProvisioningHook || t.preProvisioningHook?.targetArn === preProvisioningHook.targetArn);
  });
}

/** One event to send: its type, its stack's status (and the root's, for N) when it runs. */
interface Step {
  readonly event: CloudFormationCustomResourceEvent;
  readonly status: string;
  readonly rootStatus?: string;
}

async function send(real: Real, step: Step, redeliver: boolean): Promise<void> {
  const { h } = real;
  const stackKey = (Object.keys(STACKS) as StackKey[]).find((k) => STACKS[k] === step.event.StackId)!;
  h.cfnApi.stacks.set(STACKS[stackKey], { status: step.status, rootId: stackKey === 'N' ? STACKS.A : undefined });
  if (step.rootStatus) h.cfnApi.stacks.set(STACKS.A, { status: step.rootStatus });
  for (let i = 0; i < (redeliver ? 2 : 1); i++) {
    const sent = await h.send(step.event);
    const line = `${step.event.RequestType} ${stackKey}/${step.event.LogicalResourceId} [${step.status}${step.rootStatus ? `, root ${step.rootStatus}` : ''}]`;
    const props = JSON.stringify(step.event.ResourceProperties).replace(
      /arn:aws:[a-z]+:[^"]*?:(function:|role\/)|"ServiceToken":"[^"]*",/g,
      '',
    );
    real.trail.push(`${line} ${props} -> ${sent.response?.Status} ${sent.response?.Reason ?? ''}`);
    // No Create, Update or Delete fails here: AWS refuses nothing in these histories.
    if (sent.response?.Status !== 'SUCCESS') {
      throw new Error(`${line} answered ${sent.response?.Status}: ${sent.response?.Reason}\n${real.trail.join('\n')}`);
    }
  }
}

const at = <E extends CloudFormationCustomResourceEvent>(e: E, stack: StackKey): E => ({
  ...e,
  StackId: STACKS[stack],
});

/**
 * A deployment of stack `root` (A with its nested N, or B) from the model's
 * placements to `after`, failing after `failAfter` of its forward events
 * (none: it succeeds), then the rollback or cleanup CloudFormation runs.
 */
export async function deploy(
  model: Model,
  real: Real,
  root: 'A' | 'B',
  after: Placed[],
  failAfter: number | undefined,
  redeliver: boolean,
): Promise<void> {
  const { h } = real;
  const inTree = (p: Placed) => (root === 'A' ? p.stack !== 'B' : p.stack === 'B');
  const before = model.placed.filter(inTree);
  const same = (a: Placed, b: Placed) => a.stack === b.stack && a.id === b.id;
  const created = after.filter((a) => !before.some((b) => same(a, b)));
  const updated = after.filter((a) =>
    before.some((b) => same(a, b) && JSON.stringify(a.props) !== JSON.stringify(b.props)),
  );
  const removed = before.filter((b) => !after.some((a) => same(a, b)));
  const rootNew = !model.exists.has(root);
  const forward = (p: Placed) =>
    p.stack === root ? (rootNew ? 'CREATE' : 'UPDATE') : model.exists.has('N') ? 'UPDATE' : 'CREATE';
  const rootStatus = (p: Placed, status: string) => (p.stack === 'N' ? status : undefined);
  const steps: Step[] = [
    ...created.map((p) => ({
      event: at(h.createEvent(p.props, p.id), p.stack),
      status: `${forward(p)}_IN_PROGRESS`,
      rootStatus: rootStatus(p, rootNew ? 'CREATE_IN_PROGRESS' : 'UPDATE_IN_PROGRESS'),
    })),
    ...updated.map((p) => {
      const old = before.find((b) => same(p, b))!;
      return {
        event: at(h.updateEvent(NAME, p.props, old.props, p.id), p.stack),
        status: 'UPDATE_IN_PROGRESS',
        rootStatus: rootStatus(p, 'UPDATE_IN_PROGRESS'),
      };
    }),
  ];
  const startedClean = inStep(model, h.iot.template(NAME)!);
  const templateBefore = settingsOf(h.iot.template(NAME)!);
  const sent = failAfter === undefined ? steps : steps.slice(0, Math.min(failAfter, steps.length));
  for (const step of sent) await send(real, step, redeliver);
  if (failAfter !== undefined) {
    real.trail.push(`  (another resource fails: ${root} rolls back)`);
    for (const step of [...sent].reverse()) {
      const e = step.event;
      const p = [...created, ...updated].find((x) => STACKS[x.stack] === e.StackId && x.id === e.LogicalResourceId)!;
      if (e.RequestType === 'Update') {
        const back = at(h.updateEvent(NAME, e.OldResourceProperties as SettingsProperties, p.props, p.id), p.stack);
        await send(
          real,
          {
            event: back,
            status: 'UPDATE_ROLLBACK_IN_PROGRESS',
            rootStatus: rootStatus(p, 'UPDATE_ROLLBACK_IN_PROGRESS'),
          },
          redeliver,
        );
      } else {
        const rolling = rootNew ? 'ROLLBACK_IN_PROGRESS' : 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS';
        const status = p.stack === 'N' && !model.exists.has('N') ? 'DELETE_IN_PROGRESS' : rolling;
        await send(
          real,
          { event: at(h.deleteEvent(NAME, p.props, p.id), p.stack), status, rootStatus: rootStatus(p, rolling) },
          redeliver,
        );
      }
    }
    if (sent.length > 0 && startedClean) {
      // Every setting as it was before the deployment.
      expectSame(real, settingsOf(h.iot.template(NAME)!), templateBefore, 'after the rollback');
    }
    return;
  }
  for (const p of removed) {
    const nestedGone = p.stack === 'N' && !after.some((a) => a.stack === 'N');
    const status = nestedGone ? 'DELETE_IN_PROGRESS' : 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    const event = at(h.deleteEvent(NAME, p.props, p.id), p.stack);
    await send(real, { event, status, rootStatus: rootStatus(p, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS') }, redeliver);
  }
  const touched = created.length + updated.length;
  model.placed = [...model.placed.filter((p) => !inTree(p)), ...after];
  model.exists.add(root);
  if (after.some((p) => p.stack === 'N')) model.exists.add('N');
  else model.exists.delete('N');
  if (touched === model.placed.length) model.drift = false;
}

/** Delete stack `root` (and N with A). */
export async function deleteStack(model: Model, real: Real, root: 'A' | 'B'): Promise<void> {
  const { h } = real;
  for (const p of model.placed.filter((x) => (root === 'A' ? x.stack !== 'B' : x.stack === 'B'))) {
    const event = at(h.deleteEvent(NAME, p.props, p.id), p.stack);
    await send(
      real,
      { event, status: 'DELETE_IN_PROGRESS', rootStatus: p.stack === 'N' ? 'DELETE_IN_PROGRESS' : undefined },
      false,
    );
  }
  model.placed = model.placed.filter((x) => (root === 'A' ? x.stack === 'B' : x.stack !== 'B'));
  model.exists.delete(root);
  if (root === 'A') model.exists.delete('N');
}

function expectSame(real: Real, actual: unknown, expected: unknown, when: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(
      `${when}: template ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}\n${real.trail.join('\n')}`,
    );
  }
}

/** The invariants every history keeps after each step. */
export function checkInvariants(model: Model, real: Real): void {
  const t = real.h.iot.template(NAME)!;
  const hook = t.preProvisioningHook?.targetArn;
  const managed = model.placed.map((p) => p.props.PreProvisioningHook?.TargetArn).filter((x) => x !== undefined);
  // A hook that a live resource manages is on its template (unless changed out of band since).
  if (!model.drift && managed.length > 0) expectSame(real, hook, managed[0], 'a managed hook');
  // No template keeps one of our hooks once no live resource manages it.
  if (hook && OURS.includes(hook) && !managed.includes(hook)) {
    expectSame(real, hook, undefined, 'a hook nobody manages');
  }
  // Once nothing manages the template, no owner tag is left on it.
  if (model.placed.length === 0) {
    expectSame(real, real.h.iot.tagsOf(NAME)!['iot-provisioning-template-settings:owner'], undefined, 'owner tag');
  }
}
