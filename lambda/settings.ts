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
  SettingsData,
  SettingsProperties,
  TemplateWrite,
} from '../lib/handler-contract';
import { describeTemplate, updateTemplate } from './aws';
import { Ctx, log, reserving } from './context';
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
    // A Create's rollback only needs the hook gone; an Update's rollback writes every setting back.
    if (event.RequestType === 'Update' || input.preProvisioningHook !== undefined) {
      await reserving(ctx, ctx.config.checkReserveMs, (inner) => updateTemplate(inner, input, roleArn));
      await confirmStillCurrent(ctx, event, input, current, old);
    } else {
      await updateTemplate(ctx, input, roleArn);
    }
  }
  return { physicalResourceId: name, data: { TemplateArn: current.templateArn ?? '' } };
}

/**
 * The template is the one the properties name, not the physical id: when a
 * Create is cancelled (another resource failed first) or its answer was
 * lost, CloudFormation sends the Delete with an id it made up. After a
 * rename, the Delete of the old resource carries the old properties.
 */
export async function onDelete(ctx: Ctx, event: CloudFormationCustomResourceDeleteEvent): Promise<Outcome> {
  const done = { physicalResourceId: event.PhysicalResourceId };
  if (event.PhysicalResourceId === CREATE_FAILED_MARKER) {
    log('create had failed without changing anything; nothing to delete', {});
    return done;
  }
  const props = properties(event);
  const ours = props.PreProvisioningHook;
  if (!ours) {
    return done;
  }
  const templateName = props.TemplateName;
  const current = await describeTemplate(ctx, templateName);
  if (current === undefined) {
    log('template no longer exists; nothing to delete', { templateName });
    return done;
  }
  if (current.preProvisioningHook?.targetArn !== ours.TargetArn) {
    log('template has a hook that this resource did not set; left alone', {
      templateName,
      hook: current.preProvisioningHook?.targetArn ?? null,
    });
    return done;
  }
  await updateTemplate(ctx, { templateName, removePreProvisioningHook: true });
  return done;
}
