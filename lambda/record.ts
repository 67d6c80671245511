/**
 * What the handler keeps on the template itself, as tags, so that it
 * survives a renamed or moved construct and a lost answer:
 *
 * - the owner tag names the custom resource (stack and logical id) that last
 *   took the template over (a Create, or an Update that renames the
 *   template); a Delete acts only while it names its own resource;
 * - the hook tag names the hook the owner manages, so a former owner knows
 *   whether its own hook is still wanted;
 * - the record keeps what the template had before an event of the owner
 *   started managing something (a takeover, or an Update that adds a
 *   setting), written before that event's first write: a rollback of that
 *   event puts it back;
 * - the pending-role tag says that a rollback could put back everything but
 *   the provisioning role (iam:PassRole refused), so a later Delete keeps
 *   the record for whoever fixes it by hand;
 * - with a drift check, the applied tags keep what the owner's last Create or
 *   Update wrote, which the check (lambda/drift.ts) compares with the template.
 */
import { createHash } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import {
  RestoreContext,
  SETTINGS,
  SettingField,
  SettingsProperties,
  TemplateRead,
  TemplateWrite,
} from '../lib/handler-contract';

export type Tags = { [key: string]: string };

const PREFIX = 'iot-provisioning-template-settings:';
export const OWNER_TAG = `${PREFIX}owner`;
export const HOOK_TAG = `${PREFIX}hook`;
/** The record's tags: `${RECORD_TAG}:0`, `:1`, ... (a tag value holds 256 characters). */
export const RECORD_TAG = `${PREFIX}before`;
export const PENDING_ROLE_TAG = `${PREFIX}pending-role`;
/** The settings the owner last applied, for the drift check (lambda/drift.ts): `${APPLIED_TAG}:0`, ... */
export const APPLIED_TAG = `${PREFIX}applied`;
const CHUNK = 256;

/** What the template had before an event of its owner changed it: one value per SETTINGS field. */
export type TemplateRecord = { readonly [F in SettingField]?: TemplateWrite[F] } & {
  /** The owner tag it had (a takeover): the resource to hand the template back to. */
  readonly owner?: string;
  /** That owner's hook tag. */
  readonly ownerHook?: string;
  /** The RequestId of the event that took it: only a redelivery of that event reuses it. */
  readonly request: string;
  /** The digest of the properties that event wrote: its rollback names them (`propsDigest`). */
  readonly props: string;
};

/** The settings the owner last applied (its properties' write), and what its drift check does. */
export type Applied = TemplateWrite & { readonly drift: string };

/** The template's ownership, as its tags say. */
export interface Ownership {
  readonly owner?: string;
  readonly hook?: string;
  /** Undefined when there is none, or it cannot be read. */
  readonly record?: TemplateRecord;
  readonly pendingRole?: string;
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

/** The template's ARN in the stack's partition, region and account (where the handler runs). */
export function templateArnFor(stackId: string, templateName: string): string {
  const [, partition, , region, account] = stackId.split(':');
  return `arn:${partition}:iot:${region}:${account}:provisioningtemplate/${templateName}`;
}

/** A digest of the settings `props` manage: ties a record to the event that wrote these properties. */
export function propsDigest(props: SettingsProperties): string {
  const values = [props.TemplateName, ...SETTINGS.map((setting) => props[setting.key] ?? null)];
  return createHash('sha256').update(JSON.stringify(values)).digest('base64url').slice(0, 22);
}

/** The record of what `template` has now, for the event `request` that writes `props`. */
export function takeRecord(
  template: TemplateRead,
  meta: { request: string; props: SettingsProperties; owner?: string; ownerHook?: string },
): TemplateRecord {
  const record: { [key: string]: unknown } = {};
  for (const setting of SETTINGS) record[setting.field] = setting.read(template);
  const { request, owner, ownerHook } = meta;
  return { ...record, owner, ownerHook, request, props: propsDigest(meta.props) };
}

/**
 * The writes that put back, from `record`, each setting `fields` names,
 * after `written`: one write, then a provisioning role in one of its own
 * (SETTINGS' `ownWrite`). `enabled` is in every write.
 */
export function restoreWrites(
  record: TemplateRecord,
  fields: readonly SettingField[],
  written: TemplateWrite,
  base: TemplateWrite,
): TemplateWrite[] {
  const context: RestoreContext = { written, previousOwner: record.owner };
  const main: TemplateWrite = { ...base };
  const own: TemplateWrite[] = [];
  for (const setting of SETTINGS.filter((s) => fields.includes(s.field))) {
    const saved = record[setting.field];
    const change = setting.restore(saved, context);
    if (!setting.ownWrite) Object.assign(main, change);
    else if (saved !== undefined && saved !== written[setting.field])
      own.push({ templateName: base.templateName, ...change });
  }
  return [main, ...own.map((write) => ({ ...write, enabled: main.enabled }))];
}

/** `value` as tags `${prefix}:0`, `:1`, ...: base64url JSON, cut into tag-sized pieces. */
export function pieces(prefix: string, value: object): Tags {
  const text = Buffer.from(JSON.stringify(value)).toString('base64url');
  const tags: Tags = {};
  for (let i = 0; i * CHUNK < text.length; i++) {
    tags[`${prefix}:${i}`] = text.slice(i * CHUNK, (i + 1) * CHUNK);
  }
  return tags;
}

export const recordTags = (record: TemplateRecord): Tags => pieces(RECORD_TAG, record);

/**
 * What the pieces `prefix` names hold, if `valid`: the shortest run of
 * pieces that decodes (pieces left over from a longer value, whose removal
 * failed, are ignored).
 */
export function readPieces<T>(tags: Tags, prefix: string, valid: (value: T) => boolean): T | undefined {
  let text = '';
  for (let i = 0; tags[`${prefix}:${i}`] !== undefined; i++) {
    text += tags[`${prefix}:${i}`];
    try {
      const value = JSON.parse(Buffer.from(text, 'base64url').toString()) as T;
      if (valid(value)) return value;
    } catch {
      // Not a whole value yet.
    }
  }
  return undefined;
}

/** The ownership `tags` hold. */
export function readOwnership(tags: Tags): Ownership {
  const record = readPieces<TemplateRecord>(
    tags,
    RECORD_TAG,
    (r) => typeof r.request === 'string' && typeof r.props === 'string',
  );
  return { owner: tags[OWNER_TAG], hook: tags[HOOK_TAG], record, pendingRole: tags[PENDING_ROLE_TAG] };
}

/** The keys of the pieces `prefix` names. */
export const keysOf = (tags: Tags, prefix: string): string[] =>
  Object.keys(tags).filter((key) => key.startsWith(prefix));

/** The record's tags and the pending-role tag in `tags`. */
export function recordKeys(tags: Tags): string[] {
  return [...keysOf(tags, RECORD_TAG), ...keysOf(tags, PENDING_ROLE_TAG)];
}

/** The tags that name `owner` the owner, managing `hook` (or none). */
export function ownerTags(owner: string, hook: string | undefined): Tags {
  return { [OWNER_TAG]: owner, [HOOK_TAG]: hook ?? '' };
}
