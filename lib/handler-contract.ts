/**
 * The contract between the construct (lib/) and its Lambda handler (lambda/):
 * the custom resource's type, its properties and the data it returns.
 *
 * CloudFormation hands every scalar property to a custom resource as a string,
 * so the construct sends strings on purpose: what a unit test feeds the
 * handler is what CloudFormation would feed it.
 *
 * Each managed setting is described once, in SETTINGS below: the handler
 * parses, writes and restores from it, the construct reads its property from
 * it (with the prop and its encoding, which only synth needs, in
 * lib/setting-props.ts, one entry per row), and the tests build their inputs
 * from it (CONTRIBUTING.md).
 *
 * Internal: not exported from the package's entry point. Imported by the
 * handler bundle: nothing from aws-cdk-lib.
 */

/** The `Custom::` resource type. Part of the public contract: never rename. */
export const RESOURCE_TYPE = 'Custom::IoTProvisioningTemplateSettings';

/** Physical id returned by a Create that failed before it changed anything. */
export const CREATE_FAILED_MARKER = 'IoTProvisioningTemplateSettings::CREATE_FAILED';

export interface HookProperties {
  /** ARN of the Lambda function IoT invokes before provisioning a device. */
  readonly TargetArn: string;
  /** Payload version IoT sends to the function. */
  readonly PayloadVersion: string;
}

/** The custom resource's properties, as the handler receives them. */
export interface SettingsProperties {
  readonly ServiceToken: string;
  readonly TemplateName: string;
  readonly Description?: string;
  /** `'true'` or `'false'`. */
  readonly Enabled?: string;
  /** A positive integer, as a string. */
  readonly DefaultVersionId?: string;
  readonly ProvisioningRoleArn?: string;
  readonly PreProvisioningHook?: HookProperties;
  /**
   * A digest of the CfnProvisioningTemplate that `TemplateName` refers to,
   * when it is one of the app's. Ignored by the handler: its only job is to
   * change when that template's own properties change, so CloudFormation
   * sends an Update that applies these settings again after the template's
   * update may have reset them.
   */
  readonly TemplateRevision?: string;
  /**
   * `'true'` when the resource's DeletionPolicy is Retain (RemovalPolicy.RETAIN,
   * by prop or aspect): CloudFormation then never deletes it, not even in a
   * rollback, so the handler does not undo a write that a rollback or a stack
   * deletion overtook (lambda/plan-delete.ts, planUndo).
   */
  readonly Retained?: string;
  /**
   * `'true'` when the provisioning role is defined in the app (not imported):
   * a deployment that stops managing it may delete it, so the handler's
   * Update refuses to leave the template on it (lambda/plan.ts).
   */
  readonly ProvisioningRoleInApp?: string;
  /**
   * `'report'` or `'restore'` when the construct asks for a drift check
   * (DriftCheck): the handler then keeps the settings it applied in the
   * template's tags, which the check compares with what the template has.
   */
  readonly Drift?: string;
}

/** The event a drift check's schedule sends the handler: the stack whose templates it checks. */
export interface DriftCheckEvent {
  readonly driftCheck: string;
}

/** The drift check's metric (embedded metric format, lambda/drift.ts), one per template, dimension `TemplateName`. */
export const METRIC_NAMESPACE = 'IoTProvisioningTemplateSettings';
export const DRIFT_METRIC = 'DriftedSettings';

/** What the handler returns as the custom resource's attributes. */
export interface SettingsData {
  readonly TemplateArn: string;
}

/** Attribute names, for `CustomResource.getAttString`. */
export const ATTR_TEMPLATE_ARN: keyof SettingsData = 'TemplateArn';

/**
 * The fields of UpdateProvisioningTemplate's input that the handler sends
 * (the SDK's own type is wider; lambda/aws.ts passes this one to it).
 */
export interface TemplateWrite {
  templateName: string;
  description?: string;
  enabled?: boolean;
  defaultVersionId?: number;
  provisioningRoleArn?: string;
  preProvisioningHook?: { targetArn: string; payloadVersion?: string };
  removePreProvisioningHook?: boolean;
}

type HookWrite = NonNullable<TemplateWrite['preProvisioningHook']>;

/** The settings DescribeProvisioningTemplate reports, as far as the handler reads them. */
export interface TemplateRead {
  readonly description?: string;
  readonly enabled?: boolean;
  readonly defaultVersionId?: number;
  readonly provisioningRoleArn?: string;
  readonly preProvisioningHook?: { readonly targetArn?: string; readonly payloadVersion?: string };
}

/** A field of UpdateProvisioningTemplate that a setting writes. */
export type SettingField =
  'description' | 'enabled' | 'defaultVersionId' | 'provisioningRoleArn' | 'preProvisioningHook';

/** One managed setting, from the construct's prop to the SDK's field. */
interface SettingSpec<V, F extends SettingField> {
  /** The custom resource's property (its prop, and how the construct encodes it: lib/setting-props.ts). */
  readonly key: keyof SettingsProperties;
  /** The UpdateProvisioningTemplate field it writes. */
  readonly field: F;
  /** The property's value as the field's; throws a message naming the property for a value that is not one. */
  readonly parse: (value: V) => NonNullable<TemplateWrite[F]>;
  /** What the template has of this setting, as the record keeps it (lambda/record.ts); undefined: nothing. */
  readonly read: (template: TemplateRead) => TemplateWrite[F] | undefined;
  /** The write that puts `saved` (what `read` gave) back, after `written` changed it. */
  readonly restore: (saved: TemplateWrite[F] | undefined, context: RestoreContext) => Partial<TemplateWrite>;
  /**
   * Restored in a write of its own, after the rest: passing a provisioning
   * role needs iam:PassRole, which the handler has for its own stack's roles
   * only, so a refusal must not keep the other settings from coming back.
   */
  readonly ownWrite?: boolean;
}

/** What a restore knows besides the value it puts back. */
export interface RestoreContext {
  /** The write being undone. */
  readonly written: TemplateWrite;
  /** The resource that owned the template before (the record's owner), if any. */
  readonly previousOwner?: string;
}

/** A row of SETTINGS, its types erased so that the rows fit in one list. */
export type Setting = SettingSpec<unknown, SettingField>;

function setting<V, F extends SettingField>(spec: SettingSpec<V, F>): Setting {
  return spec as unknown as Setting;
}

function parseBoolean(value: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  throw new Error(`Enabled must be "true" or "false"; got ${JSON.stringify(value)}.`);
}

function parseVersion(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new Error(`DefaultVersionId must be a positive whole number; got ${JSON.stringify(value)}.`);
  }
  return n;
}

/**
 * The hook the template had goes back on; except, when no other resource
 * owned the template, a hook with the ARN this resource wrote: that can only
 * be its own earlier write, which comes off.
 */
function restoreHook(saved: TemplateWrite['preProvisioningHook'], context: RestoreContext): Partial<TemplateWrite> {
  const ours = saved?.targetArn === context.written.preProvisioningHook?.targetArn;
  return saved && (context.previousOwner || !ours)
    ? { preProvisioningHook: saved }
    : { removePreProvisioningHook: true };
}

/** Every managed setting, in the order the props are documented. */
export const SETTINGS: readonly Setting[] = [
  setting({
    key: 'Description',
    field: 'description',
    parse: (value: string) => value,
    read: (template) => template.description,
    restore: (saved) => ({ description: saved ?? '' }),
  }),
  setting({
    key: 'Enabled',
    field: 'enabled',
    parse: parseBoolean,
    read: (template) => template.enabled,
    restore: (saved) => (saved === undefined ? {} : { enabled: saved }),
  }),
  setting({
    key: 'DefaultVersionId',
    field: 'defaultVersionId',
    parse: parseVersion,
    read: (template) => template.defaultVersionId,
    restore: (saved) => (saved === undefined ? {} : { defaultVersionId: saved }),
  }),
  setting({
    key: 'ProvisioningRoleArn',
    field: 'provisioningRoleArn',
    parse: (arn: string) => arn,
    read: (template) => template.provisioningRoleArn,
    restore: (saved) => (saved === undefined ? {} : { provisioningRoleArn: saved }),
    ownWrite: true,
  }),
  setting({
    key: 'PreProvisioningHook',
    field: 'preProvisioningHook',
    parse: (hook: HookProperties) => ({ targetArn: hook.TargetArn, payloadVersion: hook.PayloadVersion }),
    // DescribeProvisioningTemplate's hook has just these two fields.
    read: (template) =>
      template.preProvisioningHook?.targetArn ? (template.preProvisioningHook as HookWrite) : undefined,
    restore: restoreHook,
  }),
];

/**
 * The UpdateProvisioningTemplate input for the settings `props` manage, and
 * only those; throws a message naming the property for a value that is not
 * one.
 */
export function desiredWrite(props: SettingsProperties): TemplateWrite {
  const input: TemplateWrite = { templateName: props.TemplateName };
  for (const setting of SETTINGS) {
    const value = props[setting.key];
    if (value !== undefined) {
      Object.assign(input, { [setting.field]: setting.parse(value as never) });
    }
  }
  return input;
}
