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
import { errorMessage, errorName, SettingsError } from './retry';

export interface Outcome {
  readonly physicalResourceId: string;
  readonly data?: SettingsData;
}

export function properties(event: { ResourceProperties: unknown }): SettingsProperties {
  return event.ResourceProperties as SettingsProperties;
}

/** The facts every event starts from: the event itself. */
export function eventFacts(event: CloudFormationCustomResourceEvent): Facts {
  return {
    event: {
      kind: event.RequestType,
      requestId: event.RequestId,
      me: ownerId(event),
      props: properties(event),
      old: event.RequestType === 'Update' ? (event.OldResourceProperties as SettingsProperties) : undefined,
      physicalId: event.RequestType === 'Create' ? undefined : event.PhysicalResourceId,
    },
  };
}

/** Run the event: read, decide, act; then, for a write, check it and undo it if it was overtaken. */
export async function onEvent(ctx: Ctx, event: CloudFormationCustomResourceEvent, stackId: string): Promise<Outcome> {
  const planFor = event.RequestType === 'Delete' ? planDelete : planApply;
  const { facts, plan } = await decide(ctx, eventFacts(event), planFor, stackId);
  const name = facts.event.props.TemplateName;
  log(plan.why, { templateName: name, owner: facts.tags?.[OWNER_TAG] ?? null, ...plan.details });
  if (plan.check) {
    await reserving(ctx, ctx.config.checkReserveMs, (inner) => carryOut(inner, plan, facts, stackId));
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
      await carryOut(ctx, undo, facts, stackId).catch((e: SettingsError) => {
        throw new SettingsError(e.message, false);
      });
    }
  } else {
    await carryOut(ctx, plan, facts, stackId);
  }
  if (event.RequestType === 'Delete') return { physicalResourceId: event.PhysicalResourceId };
  return { physicalResourceId: name, data: { TemplateArn: facts.template?.templateArn ?? '' } };
}

/** Read what `planFor` asks for until it decides. */
export async function decide(
  ctx: Ctx,
  start: Facts,
  planFor: (facts: Facts) => Plan | Need,
  stackId: string,
): Promise<{ facts: Facts; plan: Plan }> {
  let facts = start;
  const name = facts.event.props.TemplateName;
  for (let decision = planFor(facts); ; decision = planFor(facts)) {
    if (!isNeed(decision)) return { facts, plan: decision };
    switch (decision.need) {
      case 'template':
        facts = { ...facts, template: (await describeTemplate(ctx, name)) ?? null };
        break;
      case 'tags':
        facts = { ...facts, tags: (await listTags(ctx, templateArn(facts, stackId), name)) ?? null };
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

function templateArn(facts: Facts, stackId: string): string {
  return facts.template?.templateArn ?? templateArnFor(stackId, facts.event.props.TemplateName);
}

/**
 * Make the plan's calls in order, then fail if the plan says so. When a call
 * fails, the plan's undo runs (`refused` when no settings write may have
 * landed, `unsure` when one may have); the error says whether anything may
 * have changed, which decides a failed Create's physical id (lambda/index.ts).
 */
export async function carryOut(ctx: Ctx, plan: Plan, facts: Facts, stackId: string): Promise<void> {
  const done = { tagged: false, wrote: false };
  const roleNow = facts.template?.provisioningRoleArn;
  const run = async (step: Step) => {
    if ('write' in step) {
      await updateTemplate(ctx, step.write, step.write.provisioningRoleArn ?? roleNow);
      done.wrote = true;
    } else {
      await retag(ctx, templateArn(facts, stackId), facts.event.props.TemplateName, step.set, step.remove, () => {
        done.tagged = true;
      });
    }
  };
  for (const step of plan.steps) {
    try {
      await run(step);
    } catch (e) {
      const landed = !(e instanceof SettingsError && e.changedNothing);
      if ('write' in step) done.wrote ||= landed;
      else done.tagged ||= landed;
      let changedNothing = !done.wrote && !done.tagged;
      const undo = done.wrote ? plan.undo?.unsure : plan.undo?.refused;
      if (undo?.length && (done.wrote || done.tagged)) {
        try {
          for (const back of undo) await run(back);
          changedNothing = !done.wrote;
        } catch (failed) {
          log('could not put the template back', {
            templateName: facts.event.props.TemplateName,
            error: errorMessage(failed),
          });
        }
      }
      throw new SettingsError(reason(plan, step, e, facts.event.props.TemplateName), changedNothing);
    }
  }
  if (plan.fail) throw new SettingsError(plan.fail, !done.wrote && !done.tagged);
}

function reason(plan: Plan, step: Step, e: unknown, templateName: string): string {
  const message =
    e instanceof SettingsError
      ? e.message
      : `Provisioning template "${templateName}": ${errorName(e)}: ${errorMessage(e)}`;
  const hint = 'hint' in step && step.hint ? step.hint : '';
  return plan.context ? `${plan.context}: ${message}${hint}` : `${message}${hint}`;
}
