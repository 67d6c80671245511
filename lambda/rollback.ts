/**
 * The check after a write that a rollback may have overtaken, and its undo.
 *
 * When another resource fails, CloudFormation cancels a Create or Update
 * that is still running and starts the rollback at once. The rollback's
 * Delete (or Update back) may read the template before this write landed;
 * the write then undoes the rollback's work: a hook stays on a template
 * whose stack deletes the hook function, or the failed deploy's settings
 * stay while the stack says the old ones. So, after the write, ask
 * CloudFormation whether it still wants it (`staleness`). If not, write what
 * the rollback would have written after this write (`undoInput`), and fail.
 */
import type { CloudFormationCustomResourceCreateEvent, CloudFormationCustomResourceUpdateEvent } from 'aws-lambda';
import { desiredWrite, SettingsProperties, TemplateRead, TemplateWrite } from '../lib/handler-contract';
import { resourceStatus, stackStatus, updateTemplate } from './aws';
import { giveBack, putBack, Record, recordTags, restoreWrite } from './ownership';
import { Ctx, log, reserving } from './context';
import { errorMessage, SettingsError } from './retry';

export type CreateOrUpdate = CloudFormationCustomResourceCreateEvent | CloudFormationCustomResourceUpdateEvent;

/** A Create (or renaming Update) that took the template over: its ARN, and what it had. */
export interface Takeover {
  readonly templateArn: string;
  readonly record: Record;
}

const TAKEOVER_UNDONE = 'The template was set back as it was before, its previous owner included.';

/**
 * Whether CloudFormation still wants a write. `stale` false: it gave no clear
 * answer. `deleting`: the resource, or its stack, is being deleted.
 */
type Verdict = { wanted: true } | { wanted: false; stale: boolean; deleting?: boolean; why: string };

/**
 * Called after the write of an Update, or of a Create that sets a hook.
 * A rollback that reads the template after the write undoes it itself; one
 * that read it before was started by a cancellation that this question,
 * asked after the write, sees (as far as CloudFormation's answer is current).
 *
 * When CloudFormation gives no clear answer (an error after the retries, or
 * a status this does not expect), a Create is undone and fails too, which is
 * always safe: its rollback deletes the resource. An Update keeps its write
 * and succeeds, logging why: it may be the rollback itself, and failing a
 * rollback leaves the stack UPDATE_ROLLBACK_FAILED.
 */
export async function confirmStillCurrent(
  ctx: Ctx,
  event: CreateOrUpdate,
  written: TemplateWrite,
  before: TemplateRead,
  old: SettingsProperties | undefined,
  takeover?: Takeover,
): Promise<void> {
  const templateName = written.templateName;
  const doing = event.RequestType === 'Create' ? 'creating' : 'updating';
  let verdict: Verdict;
  try {
    // Half the reserve for the question, the rest for a possible undo.
    verdict = await reserving(ctx, ctx.config.checkReserveMs / 2, (inner) => staleness(inner, event, templateName));
  } catch (e) {
    verdict = { wanted: false, stale: false, why: withoutFinalPeriod(errorMessage(e)) };
  }
  if (verdict.wanted) {
    return;
  }
  const problem = verdict.stale
    ? `Provisioning template "${templateName}": the stack stopped ${doing} this resource while it was being written (${verdict.why})`
    : `Provisioning template "${templateName}": could not confirm that the stack is still ${doing} this resource: ${verdict.why}`;
  if (!verdict.stale && event.RequestType === 'Update') {
    log('kept the write', { problem });
    return;
  }
  const props = event.ResourceProperties as SettingsProperties;
  if (props.Retained === 'true' && (event.RequestType === 'Create' || verdict.deleting)) {
    // RETAIN: the stack keeps this resource, and its hook's stack everything (checked at synth).
    log('kept the write: the resource is retained', { problem });
    return;
  }
  let undo: TemplateWrite | undefined;
  try {
    undo = takeover
      ? { ...restoreWrite(takeover.record, written) }
      : // Without a takeover this is an Update of the same template, which has its old properties.
        undoInput(written, old!, verdict.deleting === true);
    log('undoing the write', { problem, undo });
    if (undo) {
      undo.enabled ??= before.enabled;
      // A record may name a role from outside the stack: put back in a write of its own.
      await (takeover ? putBack(ctx, undo) : updateTemplate(ctx, undo));
    }
    if (takeover) {
      await giveBack(ctx, takeover.templateArn, templateName, recordTags(takeover.record), takeover.record);
    }
  } catch (e) {
    throw new SettingsError(
      `${problem}. Undoing the write failed too; the template may keep it: ${errorMessage(e)}`,
      false,
    );
  }
  throw new SettingsError(`${problem}. ${takeover ? TAKEOVER_UNDONE : describeUndo(undo)}`, false);
}

/**
 * Whether CloudFormation still wants what this event wrote:
 * - stale, and being deleted: the resource gone from the stack, DELETE_*,
 *   or an Update's UPDATE_COMPLETE in a stack being deleted;
 * - wanted: CREATE_IN_PROGRESS (UPDATE_IN_PROGRESS for an Update); also a
 *   Create's CREATE_COMPLETE or UPDATE_* (the create was accepted), and an
 *   Update's UPDATE_COMPLETE in a stack that is not rolling back: another
 *   delivery of this same event (Lambda delivers at least once) answered
 *   first;
 * - stale: a Create's CREATE_FAILED; an Update's UPDATE_FAILED, or
 *   UPDATE_COMPLETE in a stack that is rolling back;
 * - unsure: any other status.
 */
async function staleness(ctx: Ctx, event: CreateOrUpdate, templateName: string): Promise<Verdict> {
  const status = await resourceStatus(ctx, event, templateName);
  const stale = (why: string, deleting = false): Verdict => ({ wanted: false, stale: true, deleting, why });
  const unsure: Verdict = { wanted: false, stale: false, why: `the resource is ${status}` };
  if (status === undefined) {
    return stale('the stack no longer has it', true);
  }
  if (status.startsWith('DELETE_')) {
    return stale(`the resource is now ${status}`, true);
  }
  if (event.RequestType === 'Create') {
    if (status === 'CREATE_FAILED') {
      return stale(`the resource is now ${status}`);
    }
    // CREATE_COMPLETE, UPDATE_*: this create was accepted (another delivery answered first).
    const accepted = status === 'CREATE_IN_PROGRESS' || status === 'CREATE_COMPLETE' || status.startsWith('UPDATE_');
    return accepted ? { wanted: true } : unsure;
  }
  if (status === 'UPDATE_IN_PROGRESS') {
    return { wanted: true };
  }
  if (status === 'UPDATE_COMPLETE') {
    const stack = await stackStatus(ctx, event, templateName);
    return /ROLLBACK|^DELETE_/.test(stack)
      ? stale(`the resource is now ${status}, the stack ${stack}`, stack.startsWith('DELETE_'))
      : { wanted: true };
  }
  return status === 'UPDATE_FAILED' ? stale(`the resource is now ${status}`) : unsure;
}

/**
 * The write a rollback would have made had it run after an Update of the
 * same template (a Create, or an Update that renames the template, puts back
 * its takeover record instead), or undefined when there is nothing to write:
 * - the resource or its stack being deleted: our hook off (as the Delete does);
 * - otherwise the old properties' settings, as the rollback's Update writes
 *   them (our hook off if they had none).
 */
export function undoInput(
  written: TemplateWrite,
  old: SettingsProperties,
  deleting: boolean,
): TemplateWrite | undefined {
  if (deleting) {
    return written.preProvisioningHook
      ? { templateName: written.templateName, removePreProvisioningHook: true }
      : undefined;
  }
  const undo = desiredWrite(old);
  if (!old.PreProvisioningHook && written.preProvisioningHook) {
    undo.removePreProvisioningHook = true;
  }
  return Object.keys(undo).length > 1 ? undo : undefined;
}

/** What `undo` did, for the reason CloudFormation shows. */
function describeUndo(undo: TemplateWrite | undefined): string {
  if (!undo) {
    return 'Nothing it wrote needed undoing.';
  }
  return undo.removePreProvisioningHook && Object.keys(undo).length <= 3
    ? 'The hook it set was removed again.'
    : 'The old settings were written back.';
}

function withoutFinalPeriod(text: string): string {
  return text.endsWith('.') ? text.slice(0, -1) : text;
}
