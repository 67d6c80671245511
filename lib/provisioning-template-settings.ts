import { createHash } from 'crypto';
import {
  CfnResource,
  CustomResource,
  Fn,
  Lazy,
  Reference,
  RemovalPolicy,
  Stack,
  Token,
  Tokenization,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as iot from 'aws-cdk-lib/aws-iot';
import { Construct } from 'constructs';
import { ATTR_TEMPLATE_ARN, RESOURCE_TYPE, RemovalBehaviour, SettingsProperties } from './handler-contract';
import { ProvisioningHook } from './provisioning-hook';
import { SERVICE_TIMEOUT, SettingsProvider } from './provider';
import { TemplateRegistry } from './registry';

/** Properties of a ProvisioningTemplateSettings. */
export interface ProvisioningTemplateSettingsProps {
  /**
   * Name of the existing provisioning template to manage: 1-36 characters of
   * letters, digits, `_` and `-`. A token, such as `CfnProvisioningTemplate.ref`,
   * is accepted (and checked by AWS IoT at deploy time); with the `ref` of a
   * template of this app, the settings are applied again after every update
   * of that template.
   *
   * One app may manage a template from one construct only: the same name (or
   * the same token) twice in one account and region is an error.
   */
  readonly templateName: string;

  /**
   * The template's description: at most 500 characters, no control
   * characters (such as line breaks).
   *
   * @default - not managed: the template keeps its current description
   */
  readonly description?: string;

  /**
   * Whether devices may be provisioned with the template.
   *
   * @default - not managed: the template stays enabled or disabled as it is
   */
  readonly enabled?: boolean;

  /**
   * The template version devices are provisioned with: a positive whole
   * number, the ID of an existing version of the template.
   *
   * @default - not managed: the template keeps its current default version
   */
  readonly defaultVersionId?: number;

  /**
   * The role AWS IoT assumes to provision devices. The handler is granted
   * `iam:PassRole` on this role, for `iot.amazonaws.com` only.
   *
   * @default - not managed: the template keeps its current role
   */
  readonly provisioningRole?: iam.IRole;

  /**
   * A Lambda function AWS IoT calls to approve each device before it is
   * provisioned. Only FLEET_PROVISIONING templates accept one. AWS IoT is
   * granted permission to invoke the function.
   *
   * Removing the hook from these props removes it from the template, provided
   * the template's hook is still the one this construct set.
   *
   * @default - no hook is set, and a hook set by someone else is left alone
   */
  readonly preProvisioningHook?: ProvisioningHook;

  /**
   * What happens to the template when this construct is removed from the stack.
   *
   * - `RemovalPolicy.DESTROY`: the hook this construct set is removed from the
   *   template (the template itself is never deleted).
   * - `RemovalPolicy.RETAIN`: the template is left exactly as it is (also
   *   when a failed Create is rolled back).
   * - `RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE`: the template is left as it
   *   is, except when the Create that set it is rolled back: then the hook is
   *   removed as with DESTROY.
   * - `RemovalPolicy.SNAPSHOT` is refused: a template has no snapshot.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Manages the settings of an existing AWS IoT provisioning template: its
 * description, whether it is enabled, its default version, its provisioning
 * role and its pre-provisioning hook.
 *
 * The template itself is not created or deleted: create it with
 * `CfnProvisioningTemplate` or outside the app. All constructs in a stack
 * share one handler function.
 *
 * @resource Custom::IoTProvisioningTemplateSettings
 */
export class ProvisioningTemplateSettings extends Construct {
  /** Name of the managed provisioning template. */
  public readonly templateName: string;

  /** ARN of the managed provisioning template, as AWS IoT reports it. */
  public readonly templateArn: string;

  constructor(scope: Construct, id: string, props: ProvisioningTemplateSettingsProps) {
    super(scope, id);
    validateProps(props);

    const stack = Stack.of(this);
    TemplateRegistry.of(this).claim(stack, props.templateName, this.node.path);

    const provider = SettingsProvider.of(this);
    const dependencies = provider.register({
      templateName: props.templateName,
      hookFunction: props.preProvisioningHook?.hookFunction,
      provisioningRole: props.provisioningRole,
    });

    const hook = props.preProvisioningHook;
    const properties: Omit<SettingsProperties, 'ServiceToken'> = {
      TemplateName: props.templateName,
      Description: props.description,
      Enabled: props.enabled === undefined ? undefined : String(props.enabled),
      DefaultVersionId: props.defaultVersionId === undefined ? undefined : String(props.defaultVersionId),
      ProvisioningRoleArn: props.provisioningRole?.roleArn,
      PreProvisioningHook: hook && { TargetArn: hook.hookFunction.functionArn, PayloadVersion: hook.payloadVersion },
      RemovalPolicy: removalBehaviour(props.removalPolicy),
      TemplateRevision: templateRevision(props.templateName),
    };

    const resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.function.functionArn,
      resourceType: RESOURCE_TYPE,
      properties,
      serviceTimeout: SERVICE_TIMEOUT,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    resource.node.addDependency(...dependencies);

    this.templateName = props.templateName;
    this.templateArn = resource.getAttString(ATTR_TEMPLATE_ARN);
  }
}

const TEMPLATE_NAME = /^[0-9A-Za-z_-]{1,36}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function validateProps(props: ProvisioningTemplateSettingsProps): void {
  const { templateName, description, defaultVersionId } = props;
  if (!Token.isUnresolved(templateName) && !TEMPLATE_NAME.test(templateName)) {
    throw new Error(
      `templateName must be 1-36 characters of letters, digits, '_' and '-'; got ${JSON.stringify(templateName)} (${templateName.length} characters).`,
    );
  }
  if (description !== undefined && !Token.isUnresolved(description)) {
    if (description.length > 500) {
      throw new Error(
        `description must be at most 500 characters; got ${description.length} characters: ${JSON.stringify(description.slice(0, 60))}...`,
      );
    }
    const control = CONTROL_CHARACTERS.exec(description);
    if (control) {
      throw new Error(
        `description must not contain control characters (found U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at index ${control.index}); got ${JSON.stringify(description)}.`,
      );
    }
  }
  if (
    defaultVersionId !== undefined &&
    !Token.isUnresolved(defaultVersionId) &&
    !(Number.isSafeInteger(defaultVersionId) && defaultVersionId > 0)
  ) {
    throw new Error(
      `defaultVersionId must be a positive whole number (a version ID of the template, such as 1 or 2); got ${defaultVersionId}.`,
    );
  }
}

/**
 * When `templateName` is the `ref` of a CfnProvisioningTemplate of this app,
 * a digest of that template's properties, rendered at synth time. An update
 * of that template lets CloudFormation write its own enabled, description,
 * role and hook back; a changed digest makes the custom resource apply the
 * settings again right after (it depends on the template through the ref).
 * Property overrides made with escape hatches are not part of the digest.
 */
function templateRevision(templateName: string): string | undefined {
  const template = Tokenization.reverseString(templateName)
    .tokens.map((token) => (Reference.isReference(token) ? token.target : undefined))
    .find(
      (target): target is iot.CfnProvisioningTemplate =>
        CfnResource.isCfnResource(target) && target.cfnResourceType === 'AWS::IoT::ProvisioningTemplate',
    );
  if (!template) {
    return undefined;
  }
  return Lazy.string({
    produce: () => {
      const stack = Stack.of(template);
      const rendered: unknown = stack.resolve({
        templateBody: template.templateBody,
        templateType: template.templateType,
        enabled: template.enabled,
        description: template.description,
        provisioningRoleArn: template.provisioningRoleArn,
        preProvisioningHook: template.preProvisioningHook,
        tags: template.tags.renderTags() as unknown,
      });
      const digest = createHash('sha256').update(JSON.stringify(rendered)).digest('hex').slice(0, 16);
      // Values known only at deploy time (a replaced role, say) take part as they resolve.
      return Fn.join('|', [digest, template.provisioningRoleArn]);
    },
  });
}

/**
 * What the handler does on Delete. RETAIN_ON_UPDATE_OR_DELETE is enforced by
 * CloudFormation (DeletionPolicy RetainExceptOnCreate): the only Delete it
 * sends is the rollback of a failed Create, which must remove our hook.
 */
function removalBehaviour(policy: RemovalPolicy | undefined): RemovalBehaviour {
  switch (policy ?? RemovalPolicy.DESTROY) {
    case RemovalPolicy.DESTROY:
    case RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE:
      return 'destroy';
    case RemovalPolicy.RETAIN:
      return 'retain';
    default:
      throw new Error(
        `removalPolicy must be RemovalPolicy.DESTROY, RemovalPolicy.RETAIN or RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE; got RemovalPolicy.${policy}: a provisioning template has no snapshot.`,
      );
  }
}
