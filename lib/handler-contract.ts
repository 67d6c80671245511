/**
 * The contract between the construct (lib/) and its Lambda handler (lambda/):
 * the custom resource's type, its properties and the data it returns.
 *
 * CloudFormation hands every scalar property to a custom resource as a string,
 * so the construct sends strings on purpose: what a unit test feeds the
 * handler is what CloudFormation would feed it.
 *
 * Internal: not exported from the package's entry point.
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
   * deletion overtook (lambda/index.ts, Invocation#confirmStillCurrent).
   */
  readonly Retained?: string;
}

/** What the handler returns as the custom resource's attributes. */
export interface SettingsData {
  readonly TemplateArn: string;
}

/** Attribute names, for `CustomResource.getAttString`. */
export const ATTR_TEMPLATE_ARN: keyof SettingsData = 'TemplateArn';
