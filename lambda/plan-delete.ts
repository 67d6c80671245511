/**
 * The decisions of a Delete, and of the undo after a write that a rollback
 * overtook (the shared types are in lambda/plan.ts).
 */
import { CREATE_FAILED_MARKER, desiredWrite, SettingsProperties, TemplateWrite } from '../lib/handler-contract';
import { done, Facts, fieldsOf, isNeed, need, Need, Plan, release, stackPhase, Step, updateWrites } from './plan';
import { PENDING_ROLE_TAG, propsDigest, readOwnership, restoreWrites, TemplateRecord } from './record';

/**
 * A Delete. The template is the one the properties name, not the physical
 * id: a cancelled Create, or one whose answer was lost, gets a Delete with an
 * id CloudFormation made up; after a rename, the old resource's Delete
 * carries the old properties.
 *
 * Only the owner changes more than its own hook. In a rollback of the event
 * that took the template over, it puts back what the template had, its
 * previous owner included; otherwise it takes its hook off and its tags.
 * A former owner takes its hook off only when the owner does not manage
 * that same hook; without an owner tag, a hook comes off only if it is the
 * one the properties name.
 */
export function planDelete(f: Facts): Plan | Need {
  const { props, me, physicalId } = f.event;
  if (physicalId === CREATE_FAILED_MARKER)
    return done('create had failed without changing anything; nothing to delete');
  if (f.tags === undefined) return need('tags');
  if (f.tags === null) return done('template no longer exists; nothing to delete');
  const own = readOwnership(f.tags);
  const ours = props.PreProvisioningHook?.TargetArn;
  if (own.owner !== undefined && own.owner !== me && (!ours || own.hook === ours)) {
    return done('template owned by another resource now; left alone');
  }
  if (own.owner === undefined && !ours) return done('no owner tag and no hook in the properties; nothing to do');
  if (f.template === undefined) return need('template');
  if (f.template === null) return done('template no longer exists; nothing to delete');
  const hookOff = hookOffStep(f);
  const hook = f.template.preProvisioningHook?.targetArn ?? null;
  if (own.owner !== me) {
    const whose = own.owner === undefined ? 'no owner tag on the template' : 'another resource owns the template';
    const what =
      hookOff.length > 0 ? 'our hook comes off' : 'the template has a hook that this resource did not set; left alone';
    return { why: `${whose}: ${what}`, details: { owner: own.owner, ownerHook: own.hook, hook }, steps: hookOff };
  }
  const record = own.record?.props === propsDigest(props) ? own.record : undefined;
  let rollback = false;
  if (record || own.pendingRole) {
    const phase = stackPhase(f);
    if (isNeed(phase)) return phase;
    rollback = phase === 'rollback';
  }
  if (rollback && record) return restorePlan(f, record);
  if (own.pendingRole) {
    // A rollback put back everything but the role: keep the record for whoever puts the role back.
    return {
      why: `the template's earlier provisioning role ${own.pendingRole} was never put back; the record stays on the template`,
      steps: hookOff,
    };
  }
  return { why: 'deleted: our hook comes off, and our tags', steps: [...hookOff, release(f.tags, undefined)] };
}

/** Take our hook off, if the template has it. */
function hookOffStep(f: Facts): Step[] {
  const ours = f.event.props.PreProvisioningHook?.TargetArn;
  const template = f.template!;
  if (!ours || template.preProvisioningHook?.targetArn !== ours) return [];
  return [
    { write: { templateName: f.event.props.TemplateName, removePreProvisioningHook: true, enabled: template.enabled } },
  ];
}

/**
 * A rollback's Delete: every setting the properties manage back from the
 * record, then the tags back to the previous owner. A provisioning role goes
 * back last, in a write of its own, after a tag that says it is pending: if
 * the handler may not pass it, everything else is back, and a later Delete
 * keeps the record.
 */
function restorePlan(f: Facts, record: TemplateRecord): Plan {
  const { props } = f.event;
  const written = desiredWrite(props);
  const [main, ...roles] = restoreWrites(record, fieldsOf(props), written, {
    templateName: props.TemplateName,
    enabled: record.enabled ?? f.template!.enabled,
  });
  const steps: Step[] = [{ write: main }];
  for (const role of roles) {
    const arn = role.provisioningRoleArn!;
    steps.push({ set: { [PENDING_ROLE_TAG]: arn.length <= 256 ? arn : 'see the record tags' }, remove: [] });
    steps.push({ write: role, hint: pendingRoleHint(props.TemplateName, arn) });
  }
  steps.push(release({ ...f.tags!, [PENDING_ROLE_TAG]: '' }, record));
  return { why: 'rollback of the deployment that took the template over: putting back what it had', steps, record };
}

function pendingRoleHint(templateName: string, role: string): string {
  return (
    ` Everything else is back. The template's earlier provisioning role is ${role} (also kept in its tags): ` +
    `put it back with \`aws iot update-provisioning-template --template-name ${templateName} --provisioning-role-arn ${role}\`, ` +
    'or give the handler iam:PassRole on it, then continue the rollback.'
  );
}

/** What CloudFormation said when asked, after a write, whether it still wants it. */
export type Verdict =
  | { readonly wanted: true }
  | { readonly wanted: false; readonly stale: boolean; readonly deleting?: boolean; readonly why: string };

/**
 * After a Create's or Update's write, CloudFormation no longer wants it (or
 * would not say): the plan that undoes it, or one that keeps it and says why.
 * - No clear answer: a Create is undone (its rollback deletes the resource);
 *   an Update keeps its write, since it may be the rollback itself, and
 *   failing a rollback leaves the stack UPDATE_ROLLBACK_FAILED.
 * - A retained resource keeps its write (its stack keeps everything).
 * - A takeover puts the record back and hands the template back; an Update
 *   writes what the rollback would have written after it, or, when the
 *   resource is being deleted, takes off the hook it set.
 */
export function planUndo(f: Facts, applied: Plan, verdict: Verdict): Plan | undefined {
  if (verdict.wanted) return undefined;
  const { props, old, kind } = f.event;
  const name = props.TemplateName;
  const doing = kind === 'Create' ? 'creating' : 'updating';
  const problem = verdict.stale
    ? `Provisioning template "${name}": the stack stopped ${doing} this resource while it was being written (${verdict.why})`
    : `Provisioning template "${name}": could not confirm that the stack is still ${doing} this resource: ${verdict.why}`;
  if (!verdict.stale && kind === 'Update') return { why: 'kept the write', details: { problem }, steps: [] };
  if (props.Retained === 'true' && (kind === 'Create' || verdict.deleting)) {
    return { why: 'kept the write: the resource is retained', details: { problem }, steps: [] };
  }
  const context = `${problem}. Undoing the write failed too; the template may keep it`;
  const before = f.template!;
  const written = desiredWrite(props);
  if (old?.TemplateName !== name) {
    const record = applied.record!;
    const base = { templateName: name, enabled: before.enabled };
    const writes = restoreWrites(record, fieldsOf(props), written, base).map((write) => ({ write }));
    const fail = `${problem}. The template was set back as it was before, its previous owner included.`;
    const steps = [...writes, release(f.tags ?? {}, record)];
    return { why: 'undoing the write', details: { problem }, steps, fail, context };
  }
  const undo = verdict.deleting ? hookOff(written, before.enabled) : revertUpdate(props, old, applied, before);
  const what =
    undo.length === 0
      ? 'Nothing it wrote needed undoing.'
      : undo[0].removePreProvisioningHook && Object.keys(undo[0]).length <= 3
        ? 'The hook it set was removed again.'
        : 'The old settings were written back.';
  const steps = undo.map((write) => ({ write }));
  return { why: 'undoing the write', details: { problem }, steps, fail: `${problem}. ${what}`, context };
}

/** Our hook off again, if the write set one. */
function hookOff(written: TemplateWrite, enabled: boolean | undefined): TemplateWrite[] {
  return written.preProvisioningHook
    ? [{ templateName: written.templateName, removePreProvisioningHook: true, enabled }]
    : [];
}

/** What the rollback's Update would have written after this Update's write. */
function revertUpdate(
  props: SettingsProperties,
  old: SettingsProperties,
  applied: Plan,
  before: NonNullable<Facts['template']>,
): TemplateWrite[] {
  const started = fieldsOf(props).some((field) => !fieldsOf(old).includes(field));
  const hook = desiredWrite(props).preProvisioningHook ?? before.preProvisioningHook;
  return updateWrites(old, props, started ? applied.record : undefined, { ...before, preProvisioningHook: hook });
}
