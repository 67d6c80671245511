/**
 * The decisions of a Delete, and of the undo after a write that a rollback
 * overtook (the shared types are in lambda/plan.ts).
 */
import { CREATE_FAILED_MARKER, desiredWrite, SettingsProperties, TemplateWrite } from '../lib/handler-contract';
import { done, Facts, FROM_RECORD, fieldsOf, isNeed, need, Need, Plan, release, stackPhase, Step } from './plan';
import {
  PENDING_ROLE_TAG,
  propsDigest,
  readOwnership,
  recordKeys,
  recordTags,
  restoreWrites,
  Tags,
  TemplateRecord,
} from './record';

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
  if (physicalId === CREATE_FAILED_MARKER) return done('create had changed nothing');
  const gone = done('template gone');
  if (f.tags === undefined) return need('tags');
  if (f.tags === null) return gone;
  const own = readOwnership(f.tags);
  const ours = props.PreProvisioningHook?.TargetArn;
  const owner = own.owner === me;
  // A former owner, gone now: the owner's record no longer names it as the one to hand the template back to.
  const signOff: Step[] =
    !owner && own.record?.owner === me
      ? [replaceRecord(f.tags, { ...own.record, owner: undefined, ownerHook: undefined })]
      : [];
  if (!owner && (own.owner || !ours) && (!ours || own.hook === ours)) {
    return { why: 'owned by another resource now; left alone', steps: signOff };
  }
  if (f.template === undefined) return need('template');
  if (f.template === null) return gone;
  const hookOff = hookOffStep(f);
  if (!owner) {
    const what = hookOff.length > 0 ? 'our hook off' : 'a hook that this resource did not set; left alone';
    const details = { hook: f.template.preProvisioningHook?.targetArn };
    return { why: `not the owner: ${what}`, details, steps: [...hookOff, ...signOff] };
  }
  const record = own.record?.props === propsDigest(props) ? own.record : undefined;
  if (record || own.pendingRole) {
    const phase = stackPhase(f);
    if (isNeed(phase)) return phase;
    if (phase === 'rollback' && record) return restorePlan(f, record);
  }
  if (own.pendingRole) {
    // A rollback put back everything but the role: keep the record for whoever puts the role back.
    return {
      why: 'earlier role never put back; record kept',
      details: { role: own.pendingRole },
      steps: hookOff,
    };
  }
  const to = own.record?.owner;
  if (to && to !== me) {
    // The resource this one took the template from is still there (its Delete would have signed off):
    // the template goes back to it, with the hook it manages (written if either of them has one).
    const hook = own.record?.ownerHook;
    const write = {
      templateName: props.TemplateName,
      enabled: f.template.enabled,
      ...(hook ? { preProvisioningHook: { targetArn: hook } } : { removePreProvisioningHook: true }),
    };
    return {
      why: 'handed back',
      details: { to },
      steps: [...(ours || hook ? [{ write }] : []), release(f.tags, own.record)],
    };
  }
  return { why: 'our hook and tags off', steps: [...hookOff, release(f.tags, undefined)] };
}

/** The tag step that replaces the record on the template with `record`. */
function replaceRecord(tags: Tags, record: TemplateRecord): Step {
  const set = recordTags(record);
  return { set, remove: recordKeys(tags).filter((key) => set[key] === undefined) };
}

/** Take our hook off, if the template has it. */
function hookOffStep(f: Facts): Step[] {
  const { props } = f.event;
  const on = f.template!.preProvisioningHook?.targetArn === props.PreProvisioningHook?.TargetArn;
  return on ? hookOff(props, f.template!.enabled) : [];
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
    steps.push({ set: { [PENDING_ROLE_TAG]: arn.slice(-256) }, remove: [] });
    steps.push({ write: role, hint: pendingRoleHint(props.TemplateName, arn) });
  }
  steps.push(release({ ...f.tags!, [PENDING_ROLE_TAG]: '' }, record));
  return { why: FROM_RECORD, steps };
}

function pendingRoleHint(templateName: string, role: string): string {
  return (
    ` Everything else is back. The template's earlier provisioning role is ${role} (kept in its tags too): ` +
    `\`aws iot update-provisioning-template --template-name ${templateName} --provisioning-role-arn ${role}\` puts it back.`
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
  const doing = kind === 'Create' ? 'creating' : 'updating';
  const problem = `Provisioning template "${props.TemplateName}": ${
    verdict.stale
      ? `the stack stopped ${doing} this resource while it was being written (${verdict.why})`
      : `could not confirm that the stack is still ${doing} this resource: ${verdict.why}`
  }`;
  const keep =
    !verdict.stale && kind === 'Update'
      ? 'kept the write'
      : props.Retained === 'true' && (kind === 'Create' || verdict.deleting)
        ? 'kept the write: the resource is retained'
        : undefined;
  if (keep) return { why: keep, details: { problem }, steps: [] };
  const context = `${problem}. Undoing the write failed too; the template may keep it`;
  const takeover = old?.TemplateName !== props.TemplateName;
  const steps = verdict.deleting && !takeover ? hookOff(f.event.props, f.template!.enabled) : applied.revert!;
  const first = (steps[0] as { write?: TemplateWrite } | undefined)?.write;
  const what = takeover
    ? 'The template was set back as it was before, its previous owner included.'
    : !first
      ? 'Nothing it wrote needed undoing.'
      : first.removePreProvisioningHook && Object.keys(first).length <= 3
        ? 'The hook it set was removed again.'
        : 'The old settings were written back.';
  return { why: 'undoing the write', details: { problem }, steps, fail: `${problem}. ${what}`, context };
}

/** Our hook off again, if the properties set one. */
function hookOff(props: SettingsProperties, enabled: boolean | undefined): Step[] {
  return props.PreProvisioningHook
    ? [{ write: { templateName: props.TemplateName, removePreProvisioningHook: true, enabled } }]
    : [];
}
