/**
 * What each CloudFormation event does to the template: onCreate, onUpdate
 * and onDelete. Each reads the template once and writes it at most once;
 * a write that a rollback may overtake is checked afterwards
 * (lambda/rollback.ts).
 */
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceUpdateEvent,
} from 'aws-lambda';
import {
  CREATE_FAILED_MARKER,
  desiredWrite,
  SETTINGS,
  SettingsData,
  SettingsProperties,
  TemplateWrite,
} from '../lib/handler-contract';
import { describeTemplate, listTags, retag, stackStatus, Template, updateTemplate } from './aws';
import { Ctx, log, reserving } from './context';
import {
  isRollback,
  OWNER_TAG,
  ownerId,
  readRecord,
  Record,
  recordKeys,
  recordTags,
  restoreWrite,
  giveBack,
  snapshot,
  templateArnFor,
} from './ownership';
import { confirmStillCurrent, CreateOrUpdate } from './rollback';
import { errorMessage, SettingsError } from './retry';

export interface Outcome {
  readonly physicalResourceId: string;
  readonly data?: SettingsData;
}

export function properties(event: { ResourceProperties: unknown }): SettingsProperties {
  return event.ResourceProperties as SettingsProperties;
}

export function onCreate(ctx: Ctx, event: CloudFormationCustomResourceCreateEvent): Promise<Outcome> {
  return apply(ctx, event, undefined);
}

/** An Update of the same template; one that renames it sets the new template as a Create would, and its own undo. */
export function onUpdate(ctx: Ctx, event: CloudFormationCustomResourceUpdateEvent): Promise<Outcome> {
  const old = event.OldResourceProperties as SettingsProperties;
  return apply(ctx, event, old.TemplateName === properties(event).TemplateName ? old : undefined);
}

/** The write for the event's settings; a property that cannot be parsed fails the event without a write. */
function desiredInput(props: SettingsProperties): TemplateWrite {
  try {
    return desiredWrite(props);
  } catch (e) {
    throw new SettingsError(errorMessage(e), true);
  }
}

/** Create, or Update to the event's properties; `old`: the previous properties of the same template. */
async function apply(ctx: Ctx, event: CreateOrUpdate, old: SettingsProperties | undefined): Promise<Outcome> {
  const props = properties(event);
  const name = props.TemplateName;
  const input = desiredInput(props);
  const current = await describeTemplate(ctx, name);
  if (current === undefined) {
    throw new SettingsError(
      `Provisioning template "${name}" does not exist. Create it first (CfnProvisioningTemplate or the AWS IoT console), then deploy again.`,
      true,
    );
  }
  if (input.preProvisioningHook && current.type !== 'FLEET_PROVISIONING') {
    throw new SettingsError(
      `Provisioning template "${name}" is of type ${current.type}; only FLEET_PROVISIONING templates accept a pre-provisioning hook. Nothing was changed.`,
      true,
    );
  }
  if (old) {
    stopManaging(props, old, current);
  }
  const oldHook = old?.PreProvisioningHook;
  if (!props.PreProvisioningHook && oldHook) {
    if (current.preProvisioningHook?.targetArn === oldHook.TargetArn) {
      input.removePreProvisioningHook = true;
    } else {
      log('hook removed from props, but the template has another hook now; left alone', {
        templateName: name,
        hook: current.preProvisioningHook?.targetArn,
      });
    }
  }
  if (Object.keys(input).length > 1) {
    const roleArn = input.provisioningRoleArn ?? current.provisioningRoleArn;
    const templateArn = current.templateArn ?? templateArnFor(event.StackId, name);
    // A Create, or an Update that renames the template, takes it over: the
    // owner tag names this resource, and the record keeps what it had, both
    // before the write (lambda/ownership.ts). An Update of the same template
    // sets the owner tag only, which also claims a template tagged before
    // owner tags existed, or whose tag was removed.
    const record = old ? undefined : await takeOver(ctx, event, name, templateArn, current);
    if (old) {
      await retag(ctx, templateArn, name, { [OWNER_TAG]: ownerId(event) });
    }
    // Never left to what an absent `enabled` means.
    input.enabled ??= current.enabled;
    await reserving(ctx, ctx.config.checkReserveMs, (inner) => updateTemplate(inner, input, roleArn));
    await confirmStillCurrent(ctx, event, input, current, old, record && { templateArn, record });
  }
  return { physicalResourceId: name, data: { TemplateArn: current.templateArn ?? '' } };
}

/**
 * Tag the template as this resource's, with a record of what it had (kept
 * from an earlier delivery of the same event, which already wrote).
 */
async function takeOver(
  ctx: Ctx,
  event: CreateOrUpdate,
  name: string,
  templateArn: string,
  current: Template,
): Promise<Record> {
  const tags = (await listTags(ctx, templateArn, name)) ?? {};
  const me = ownerId(event);
  const record = (tags[OWNER_TAG] === me && readRecord(tags)) || snapshot(current, tags[OWNER_TAG]);
  const written = recordTags(record);
  const stale = recordKeys(tags).filter((key) => written[key] === undefined);
  await retag(ctx, templateArn, name, { [OWNER_TAG]: me, ...written }, stale);
  return record;
}

/**
 * Settings the old properties managed and the new ones do not are left as
 * they are, and said so. A provisioning role that this app defines and the
 * template still uses is not: the same deployment may delete that role.
 */
function stopManaging(props: SettingsProperties, old: SettingsProperties, current: Template): void {
  for (const setting of SETTINGS) {
    if (old[setting.key] !== undefined && props[setting.key] === undefined && setting.field !== 'preProvisioningHook') {
      log('no longer managed; left as it is', { templateName: props.TemplateName, setting: setting.prop });
    }
  }
  const role = old.ProvisioningRoleArn;
  if (
    role &&
    !props.ProvisioningRoleArn &&
    old.ProvisioningRoleInApp === 'true' &&
    current.provisioningRoleArn === role
  ) {
    throw new SettingsError(
      `Provisioning template "${props.TemplateName}": provisioningRole was removed from the props, but the template still uses ${role}, ` +
        'which this construct set and this app defines: if this deployment deletes that role, every device registration with the template fails. ' +
        'Set provisioningRole to the role the template should use from now on (a template always needs one), or keep the role and the prop. Nothing was changed.',
      true,
    );
  }
}

/**
 * The template is the one the properties name, not the physical id: when a
 * Create is cancelled (another resource failed first) or its answer was
 * lost, CloudFormation sends the Delete with an id it made up. After a
 * rename, the Delete of the old resource carries the old properties.
 *
 * Only the owner acts (lambda/ownership.ts). In a rollback of the deployment
 * that created it, it puts back what the template had; otherwise it takes
 * its hook off and leaves the rest. Without an owner tag (removed out of
 * band, or set before owner tags existed), the hook comes off only if it is
 * the one the properties name.
 */
export async function onDelete(ctx: Ctx, event: CloudFormationCustomResourceDeleteEvent): Promise<Outcome> {
  const done = { physicalResourceId: event.PhysicalResourceId };
  if (event.PhysicalResourceId === CREATE_FAILED_MARKER) {
    log('create had failed without changing anything; nothing to delete', {});
    return done;
  }
  const props = properties(event);
  const templateName = props.TemplateName;
  const templateArn = templateArnFor(event.StackId, templateName);
  const tags = await listTags(ctx, templateArn, templateName);
  const me = ownerId(event);
  const owner = tags?.[OWNER_TAG];
  if (tags === undefined || (owner !== undefined && owner !== me)) {
    log(tags ? 'template owned by another resource now; left alone' : 'template no longer exists; nothing to delete', {
      templateName,
      owner,
      me,
    });
    return done;
  }
  if (owner === undefined && !props.PreProvisioningHook) {
    return done;
  }
  const current = await describeTemplate(ctx, templateName);
  if (current === undefined) {
    log('template no longer exists; nothing to delete', { templateName });
    return done;
  }
  const written = desiredWrite(props);
  const record = owner === me ? readRecord(tags) : undefined;
  let restore: TemplateWrite | undefined;
  if (record && isRollback(await stackStatus(ctx, event, templateName))) {
    restore = restoreWrite(record, written);
  } else if (owner === undefined) {
    log('no owner tag on the template: the hook comes off only if it is the one this resource set', {
      templateName,
      hook: current.preProvisioningHook?.targetArn ?? null,
    });
  }
  const ours = written.preProvisioningHook?.targetArn;
  if (!restore && ours && current.preProvisioningHook?.targetArn === ours) {
    restore = { templateName, removePreProvisioningHook: true };
  } else if (!restore && ours) {
    log('template has a hook that this resource did not set; left alone', {
      templateName,
      hook: current.preProvisioningHook?.targetArn ?? null,
    });
  }
  if (restore) {
    restore.enabled ??= current.enabled;
    await updateTemplate(ctx, restore);
  }
  if (owner === me) {
    await giveBack(ctx, templateArn, templateName, tags, restore && record ? record.owner : undefined);
  }
  return done;
}
