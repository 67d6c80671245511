/**
 * The question after a write that a rollback may have overtaken.
 *
 * When another resource fails, CloudFormation cancels a Create or Update
 * that is still running and starts the rollback at once. The rollback's
 * Delete (or Update back) may read the template before this write landed;
 * the write then undoes the rollback's work. So, after the write, the
 * handler asks CloudFormation whether it still wants it; lambda/plan-delete.ts
 * (`planUndo`) decides what to do when it does not.
 */
import type { CloudFormationCustomResourceCreateEvent, CloudFormationCustomResourceUpdateEvent } from 'aws-lambda';
import { describeStack, resourceStatus } from './aws';
import type { Ctx } from './context';
import { phaseOf } from './plan';
import type { Verdict } from './plan-delete';

export type CreateOrUpdate = CloudFormationCustomResourceCreateEvent | CloudFormationCustomResourceUpdateEvent;

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
export async function staleness(ctx: Ctx, event: CreateOrUpdate, templateName: string): Promise<Verdict> {
  const status = await resourceStatus(ctx, event, templateName);
  const stale = (why: string, deleting = false): Verdict => ({ wanted: false, stale: true, deleting, why });
  const now = `the resource is now ${status}`;
  const unsure: Verdict = { wanted: false, stale: false, why: now };
  if (status === undefined) {
    return stale('the stack no longer has it', true);
  }
  if (status.startsWith('DELETE_')) {
    return stale(now, true);
  }
  if (event.RequestType === 'Create') {
    if (status === 'CREATE_FAILED') {
      return stale(now);
    }
    // CREATE_COMPLETE, UPDATE_*: this create was accepted (another delivery answered first).
    const accepted = status === 'CREATE_IN_PROGRESS' || status === 'CREATE_COMPLETE' || status.startsWith('UPDATE_');
    return accepted ? { wanted: true } : unsure;
  }
  if (status === 'UPDATE_IN_PROGRESS') {
    return { wanted: true };
  }
  if (status === 'UPDATE_COMPLETE') {
    const stack = (await describeStack(ctx, event.StackId, templateName)).status;
    const phase = phaseOf(stack);
    return phase === 'forward' ? { wanted: true } : stale(`${now}, the stack ${stack}`, phase === 'deleting');
  }
  return status === 'UPDATE_FAILED' ? stale(now) : unsure;
}
