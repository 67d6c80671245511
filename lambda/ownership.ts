/**
 * Which resource owns a template, and what the template had before it took
 * over: both kept on the template itself, as tags, so they survive a
 * renamed or moved construct and a lost answer.
 *
 * - The owner tag names the custom resource (its stack and logical id) that
 *   last took the template over. A Create (or an Update that renames the
 *   template) takes it over; an Update keeps it. A Delete acts only while the
 *   tag names its own resource: the old resource of a renamed or moved
 *   construct, deleted after the new one took over, changes nothing.
 * - The record tags keep what the template had before that takeover (its
 *   settings and its previous owner), written before the first write. A
 *   Delete during a rollback of the deployment that created the resource
 *   puts every setting, and the previous owner, back.
 */
import { createHash } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { SETTINGS, TemplateRead, TemplateWrite } from '../lib/handler-contract';
import { retag, updateTemplate } from './aws';
import type { Ctx } from './context';

export const OWNER_TAG = 'iot-provisioning-template-settings:owner';
/** The hook the owner manages (empty: none), so a former owner knows whether its own hook is still wanted. */
export const HOOK_TAG = 'iot-provisioning-template-settings:hook';
/** The record's tags: `${RECORD_TAG}:0`, `:1`, ... (a tag value holds 256 characters). */
export const RECORD_TAG = 'iot-provisioning-template-settings:before';
const CHUNK = 256;

/** What the template had before a resource took it over. */
export interface Record extends TemplateRead {
  /** The owner tag it had: the resource to give the template back to. */
  readonly owner?: string;
  /** That owner's hook tag. */
  readonly ownerHook?: string;
  /** The RequestId of the event that wrote it: only a redelivery of that event reuses it. */
  readonly request?: string;
}

/**
 * This resource's name in the owner tag: `stack/logicalId/` and the start of
 * the stack's unique id, so a stack created again under the same name is
 * another owner (hashed when longer than a tag value).
 */
export function ownerId(event: Pick<CloudFormationCustomResourceEvent, 'StackId' | 'LogicalResourceId'>): string {
  const [, stackName, stackUuid] = event.StackId.split('/');
  const id = `${stackName}/${event.LogicalResourceId}/${stackUuid.slice(0, 8)}`;
  return id.length <= CHUNK ? id : createHash('sha256').update(id).digest('hex');
}

/** The tags that name this resource the owner, managing `hook` (or none). */
export function ownerTags(me: string, hook: string | undefined): { [key: string]: string } {
  return { [OWNER_TAG]: me, [HOOK_TAG]: hook ?? '' };
}

/** The template's ARN in the stack's partition, region and account (where the handler runs). */
export function templateArnFor(stackId: string, templateName: string): string {
  const [, partition, , region, account] = stackId.split(':');
  return `arn:${partition}:iot:${region}:${account}:provisioningtemplate/${templateName}`;
}

/** What `current` has, and who owned it, as a record. */
export function snapshot(
  current: TemplateRead,
  owner: string | undefined,
  ownerHook: string | undefined,
  request: string,
): Record {
  const hook = current.preProvisioningHook;
  return {
    description: current.description,
    enabled: current.enabled,
    defaultVersionId: current.defaultVersionId,
    provisioningRoleArn: current.provisioningRoleArn,
    preProvisioningHook: hook?.targetArn
      ? { targetArn: hook.targetArn, payloadVersion: hook.payloadVersion }
      : undefined,
    owner,
    ownerHook,
    request,
  };
}

/** The record as tags: base64url JSON, cut into tag-sized pieces. */
export function recordTags(record: Record): { [key: string]: string } {
  const text = Buffer.from(JSON.stringify(record)).toString('base64url');
  const tags: { [key: string]: string } = {};
  for (let i = 0; i * CHUNK < text.length; i++) {
    tags[`${RECORD_TAG}:${i}`] = text.slice(i * CHUNK, (i + 1) * CHUNK);
  }
  return tags;
}

/** The record the tags hold, or undefined when there is none (or it cannot be read). */
export function readRecord(tags: { [key: string]: string }): Record | undefined {
  let text = '';
  for (let i = 0; tags[`${RECORD_TAG}:${i}`] !== undefined; i++) {
    text += tags[`${RECORD_TAG}:${i}`];
  }
  try {
    return text ? (JSON.parse(Buffer.from(text, 'base64url').toString()) as Record) : undefined;
  } catch {
    return undefined;
  }
}

/** Every record tag in `tags`. */
export function recordKeys(tags: { [key: string]: string }): string[] {
  return Object.keys(tags).filter((key) => key.startsWith(`${RECORD_TAG}:`));
}

/**
 * The write that puts back what the record kept, for each setting that
 * `written` changed: SETTINGS' `restore` (someone else's hook back on, ours
 * off), and the provisioning role the template had. `enabled` always. A
 * hook a previous owner had is put back as it was, even one with our ARN
 * (a renamed construct keeps its hook): only without a previous owner could
 * a hook with our ARN be our own earlier write.
 */
export function restoreWrite(record: Record, written: TemplateWrite): TemplateWrite {
  const undo: TemplateWrite = { templateName: written.templateName };
  for (const setting of SETTINGS) {
    if (written[setting.field] !== undefined) {
      Object.assign(undo, setting.restore?.(record, written));
    }
  }
  if (written.preProvisioningHook && record.owner && record.preProvisioningHook) {
    delete undo.removePreProvisioningHook;
    undo.preProvisioningHook = record.preProvisioningHook as TemplateWrite['preProvisioningHook'];
  }
  if (
    record.provisioningRoleArn &&
    record.provisioningRoleArn !== written.provisioningRoleArn &&
    written.provisioningRoleArn
  ) {
    undo.provisioningRoleArn = record.provisioningRoleArn;
  }
  undo.enabled ??= record.enabled;
  return undo;
}

/** Stack statuses in which a resource is deleted because the operation that created it failed. */
export function isRollback(stackStatus: string): boolean {
  return /ROLLBACK_IN_PROGRESS$|ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS$/.test(stackStatus);
}

/**
 * Take this resource's owner tags and record off the template (`tags`: what
 * it has); back to the record's previous owner when `record` is given.
 */
export function giveBack(
  ctx: Ctx,
  templateArn: string,
  templateName: string,
  tags: { [key: string]: string },
  record?: Record,
): Promise<void> {
  const to = record?.owner;
  const remove = [...recordKeys(tags), ...(to ? [] : [OWNER_TAG, HOOK_TAG])];
  return retag(ctx, templateArn, templateName, to ? ownerTags(to, record.ownerHook) : {}, remove);
}

/**
 * Write `restore`; a provisioning role in a write of its own, after the rest:
 * passing a role from outside the stack may be refused (the handler may pass
 * only its stack's roles), and the other settings are then back already.
 */
export async function putBack(ctx: Ctx, restore: TemplateWrite): Promise<void> {
  const { provisioningRoleArn, ...rest } = restore;
  await updateTemplate(ctx, rest);
  if (provisioningRoleArn) {
    const { templateName, enabled } = restore;
    await updateTemplate(ctx, { templateName, provisioningRoleArn, enabled }, provisioningRoleArn);
  }
}
