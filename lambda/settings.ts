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
  HOOK_TAG,
  OWNER_TAG,
  ownerId,
  ownerTags,
  putBack,
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
    const claim = ownerTags(ownerId(event), input.preProvisioningHook?.targetArn);
    const record = old ? undefined : await takeOver(ctx, event, name, templateArn, current, claim);
    if (old) {
      await retag(ctx, templateArn, name, claim);
    }
    // Never left to what an absent `enabled` means.
    input.enabled ??= current.enabled;
    try {
      await reserving(ctx, ctx.config.checkReserveMs, (inner) => updateTemplate(inner, input, roleArn));
    } catch (e) {
      if (record) await handBack(ctx, event, templateArn, input, record, e);
      throw e;
    }
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
  claim: { [key: string]: string },
): Promise<Record> {
  const tags = (await listTags(ctx, templateArn, name)) ?? {};
  // Already ours: an earlier delivery of this event tagged it, and its record
  // is what the template had before. Ours but from another event (a resource
  // retained and created again under the same logical id), or a record that
  // cannot be read: the previous owner is not known any more.
  const mine = tags[OWNER_TAG] === ownerId(event);
  const earlier = mine ? readRecord(tags) : undefined;
  const record =
    earlier?.request === event.RequestId
      ? earlier
      : snapshot(current, mine ? undefined : tags[OWNER_TAG], mine ? undefined : tags[HOOK_TAG], event.RequestId);
  const written = recordTags(record);
  const stale = recordKeys(tags).filter((key) => written[key] === undefined);
  await retag(ctx, templateArn, name, { ...claim, ...written }, stale);
  return record;
}

/**
 * The write after a takeover failed: hand the template back to its previous
 * owner. A write that certainly changed nothing needs only the tags back; one
 * that may have landed needs the settings back too when no Delete will come
 * to do it (an Update that renamed the template keeps the old physical id).
 * A Create's may-have-landed write is left to the rollback's Delete, which
 * gets the template name as physical id and owns the template.
 */
async function handBack(
  ctx: Ctx,
  event: CreateOrUpdate,
  templateArn: string,
  written: TemplateWrite,
  record: Record,
  e: unknown,
): Promise<void> {
  const changedNothing = e instanceof SettingsError && e.changedNothing;
  if (!changedNothing && event.RequestType === 'Create') return;
  try {
    if (!changedNothing) await putBack(ctx, restoreWrite(record, written));
    await giveBack(ctx, templateArn, written.templateName, recordTags(record), record);
  } catch (failed) {
    log('could not hand the template back', { templateName: written.templateName, error: errorMessage(failed) });
    // The tags still name this resource: let the rollback's Delete find it.
    if (e instanceof SettingsError) throw new SettingsError(e.message, false);
  }
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
  if (tags === undefined) {
    log('template no longer exists; nothing to delete', { templateName });
    return done;
  }
  const me = ownerId(event);
  const owner = tags[OWNER_TAG];
  const ours = props.PreProvisioningHook?.TargetArn;
  if (owner !== undefined && owner !== me) {
    // Another resource took it over (a renamed or moved construct). Our hook
    // stays if the owner manages the same one; otherwise it comes off, below.
    if (!ours || tags[HOOK_TAG] === ours) {
      log('template owned by another resource now; left alone', { templateName, owner, me });
      return done;
    }
    log("template owned by another resource now, which does not manage this resource's hook", {
      templateName,
      owner,
      me,
      ownerHook: tags[HOOK_TAG] ?? null,
    });
  }
  if (owner === undefined && !ours) {
    return done;
  }
  const current = await describeTemplate(ctx, templateName);
  if (current === undefined) {
    log('template no longer exists; nothing to delete', { templateName });
    return done;
  }
  const written = desiredWrite(props);
  const record = owner === me ? readRecord(tags) : undefined;
  const rollback = record && isRollback(await stackStatus(ctx, event, templateName));
  let restore: TemplateWrite | undefined;
  if (rollback) {
    restore = restoreWrite(record, written);
  } else if (owner === undefined) {
    log('no owner tag on the template: the hook comes off only if it is the one this resource set', {
      templateName,
      hook: current.preProvisioningHook?.targetArn ?? null,
    });
  }
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
    await putBack(ctx, restore);
  }
  if (owner === me) {
    await giveBack(ctx, templateArn, templateName, tags, rollback ? record : undefined);
  }
  return done;
}
