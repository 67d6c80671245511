/**
 * Each event reads, decides, then acts: `decide` reads the facts a plan
 * function (lambda/plan.ts, lambda/plan-delete.ts) asks for until it returns
 * a plan, and `carryOut` makes the plan's calls in order. A Create's or
 * Update's write is then checked (lambda/check.ts) and, if a rollback
 * overtook it, undone by a second plan.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { SettingsData, SettingsProperties } from '../lib/handler-contract';
import { describeStack, describeTemplate, listTags, retag, updateTemplate } from './aws';
import { staleness, CreateOrUpdate } from './check';
import { Ctx, log, reserving } from './context';
import { Facts, isNeed, Need, Plan, planApply, Step } from './plan';
import { planDelete, planUndo, Verdict } from './plan-delete';
import { OWNER_TAG, ownerId, templateArnFor } from './record';
import { errorMessage, reasonFor, SettingsError } from './retry';

export interface Outcome {
  readonly physicalResourceId: string;
  readonly data?: SettingsData;
}

export function properties(event: { ResourceProperties: unknown }): SettingsProperties {
  return event.ResourceProperties as SettingsProperties;
}

/** The facts every event starts from: the event itself. */
function eventFacts(event: CloudFormationCustomResourceEvent): Facts {
  return {
    event: {
      kind: event.RequestType,
      stackId: event.StackId,
      requestId: event.RequestId,
      me: ownerId(event),
      props: properties(event),
      old: (event as { OldResourceProperties?: SettingsProperties }).OldResourceProperties,
      physicalId: (event as { PhysicalResourceId?: string }).PhysicalResourceId,
    },
  };
}

/** Run the event: read, decide, act; then, for a write, check it and undo it if it was overtaken. */
export async function onEvent(ctx: Ctx, event: CloudFormationCustomResourceEvent): Promise<Outcome> {
  const planFor = event.RequestType === 'Delete' ? planDelete : planApply;
  const { facts, plan } = await decide(ctx, eventFacts(event), planFor);
  const name = facts.event.props.TemplateName;
  log(plan.why, { templateName: name, owner: facts.tags?.[OWNER_TAG], ...plan.details });
  // A write that CloudFormation is asked about keeps the check reserve for the question and a possible undo.
  await carryOut(ctx, plan, facts, plan.check ? ctx.config.checkReserveMs : 0);
  if (plan.check) {
    let verdict: Verdict;
    try {
      // Half the reserve for the question, the rest for a possible undo.
      const ask = (inner: Ctx) => staleness(inner, event as CreateOrUpdate, name);
      verdict = await reserving(ctx, ctx.config.checkReserveMs / 2, ask);
    } catch (e) {
      verdict = { wanted: false, stale: false, why: errorMessage(e).replace(/\.$/, '') };
    }
    const undo = planUndo(facts, plan, verdict);
    if (undo) {
      log(undo.why, { templateName: name, ...undo.details, undo: undo.steps });
      // This event's write has landed: whatever the undo does, something changed.
      await carryOut(ctx, undo, facts).catch((e: SettingsError) => {
        throw new SettingsError(e.message, false);
      });
    }
  }
  if (event.RequestType === 'Delete') return { physicalResourceId: event.PhysicalResourceId };
  return { physicalResourceId: name, data: { TemplateArn: facts.template?.templateArn ?? '' } };
}

/** Read what `planFor` asks for until it decides. */
export async function decide(
  ctx: Ctx,
  start: Facts,
  planFor: (facts: Facts) => Plan | Need,
): Promise<{ facts: Facts; plan: Plan }> {
  let facts = start;
  const { props, stackId } = facts.event;
  const name = props.TemplateName;
  for (let decision = planFor(facts); ; decision = planFor(facts)) {
    if (!isNeed(decision)) return { facts, plan: decision };
    switch (decision.need) {
      case 'template':
        facts = { ...facts, template: (await describeTemplate(ctx, name)) ?? null };
        break;
      case 'tags':
        facts = { ...facts, tags: (await listTags(ctx, templateArn(facts), name)) ?? null };
        break;
      case 'stack':
        facts = { ...facts, stack: await describeStack(ctx, stackId, name) };
        break;
      case 'root': {
        const stack = facts.stack!;
        facts = { ...facts, stack: { ...stack, rootStatus: (await describeStack(ctx, stack.rootId!, name)).status } };
      }
    }
  }
}

function templateArn(facts: Facts): string {
  return facts.template?.templateArn ?? templateArnFor(facts.event.stackId, facts.event.props.TemplateName);
}

/**
 * Make the plan's calls in order, then fail if the plan says so. When a call
 * fails, the plan's tag changes are put back if no settings write may have
 * landed (its `revert`, tag steps only), or the whole `revert` runs if one
 * may have and the plan asks for it; the error says whether anything may have
 * changed, which decides a failed Create's physical id (lambda/index.ts).
 */
export async function carryOut(ctx: Ctx, plan: Plan, facts: Facts, reserveMs = 0): Promise<void> {
  const name = facts.event.props.TemplateName;
  let tagged = false;
  let wrote = false;
  const run = async (c: Ctx, step: Step) => {
    if (!('write' in step)) return retag(c, templateArn(facts), name, step.set, step.remove, () => (tagged = true));
    await updateTemplate(c, step.write, step.write.provisioningRoleArn ?? facts.template?.provisioningRoleArn);
    wrote = true;
  };
  for (const step of plan.steps) {
    try {
      // The steps end `reserveMs` early: what follows (the question, or putting back) keeps that time.
      await reserving(ctx, reserveMs, (inner) => run(inner, step));
    } catch (e) {
      const landed = !(e instanceof SettingsError && e.changedNothing);
      if ('write' in step) wrote ||= landed;
      else tagged ||= landed;
      const settingsChanged = wrote;
      const back = wrote ? (plan.revertOnFailure ? plan.revert : []) : plan.revert?.filter((s) => !('write' in s));
      let reverted = back !== undefined;
      for (const s of back ?? []) {
        if (reverted) {
          await run(ctx, s).catch((r) => {
            reverted = false;
            log('could not put back', { error: errorMessage(r) });
          });
        }
      }
      const hint = 'hint' in step ? (step.hint ?? '') : '';
      const reason = `${plan.context ? `${plan.context}: ` : ''}${reasonFor(e, name)}${hint}`;
      throw new SettingsError(reason, !settingsChanged && (!tagged || reverted));
    }
  }
  if (plan.fail) throw new SettingsError(plan.fail, !wrote && !tagged);
}
