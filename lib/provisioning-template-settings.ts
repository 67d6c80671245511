import {
  Annotations,
  CfnDeletionPolicy,
  CfnResource,
  CustomResource,
  Lazy,
  RemovalPolicy,
  Resource,
  Stack,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IConstruct } from 'constructs';
import {
  HOOK_ACCOUNT_UNKNOWN_WARNING_ID,
  PINNED_VERSION_WARNING_ID,
  hookAccountCheck,
  retainedHookErrors,
  pinnedVersionWarning,
  propErrors,
} from './checks';
import { ATTR_TEMPLATE_ARN, RESOURCE_TYPE, SETTINGS, SettingsProperties } from './handler-contract';
import { ProvisioningHook } from './provisioning-hook';
import { SERVICE_TIMEOUT, SettingsProvider } from './provider';
import { TemplateRegistry } from './registry';
import { pairingProblems, sameStackTemplate, templateRevision } from './same-stack-template';
import type { SettingsHandler } from './settings-handler';

/** Properties of a ProvisioningTemplateSettings. */
export interface ProvisioningTemplateSettingsProps {
  /**
   * Name of the existing provisioning template to manage: 1-36 characters of
   * letters, digits, `_` and `-`. A token, such as `CfnProvisioningTemplate.ref`,
   * is accepted (and checked by AWS IoT at deploy time); with the `ref` of a
   * template of the same stack, the settings are applied again after each
   * change of that template's properties.
   *
   * One app may manage a template from one construct only: the same name (or
   * the same token) twice in one stack, or in one known account and region,
   * is an error (a warning when a stack's environment is not known).
   *
   * With the `ref` of a template of the same stack, put description, enabled
   * and the hook on this construct only (README, "A template of the same
   * stack"): a setting given here and on the template with different values
   * is a warning, as is `enabled` on the template while this construct sets a
   * hook, and a value of the template that changes at deploy time but cannot
   * be followed (a secret dynamic reference, a NoEcho parameter).
   */
  readonly templateName: string;

  /**
   * The template's description: at most 500 characters, no control or
   * other invisible characters (Unicode category C, such as line breaks,
   * tabs or zero-width spaces), as AWS IoT requires.
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
   * With the `ref` of a `CfnProvisioningTemplate` of the same stack as
   * `templateName`, a synth warning says that a change to that template's
   * body creates a new default version, which this pinned version then
   * replaces again.
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
   * AWS IoT invokes only a function of the template's own account, the
   * stack's: a function of another account is an error at synth, and a
   * warning when either account is known only at deploy time.
   *
   * A hook on a template of the same stack whose `templateType` is not
   * FLEET_PROVISIONING is an error at synth.
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
   * The policies, one by one:
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
   * With a `preProvisioningHook`, the two RETAIN policies are refused at synth
   * unless every resource of this stack, and of the hook function's stack, is
   * retained as well, as `RemovalPolicies.of(stack).retain()` does: the kept
   * template would otherwise point at a hook that AWS IoT can no longer call
   * (its invoke permission, function, role or anything it uses deleted), and
   * every device registration would be refused. The same check applies when
   * a `RemovalPolicies` aspect sets the policy.
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
 * Invalid props are reported at synth, all of them in one run, each naming
 * the construct's path, the prop, its value and what is allowed (a value of
 * the wrong type, which only plain JavaScript can pass, at once).
 *
 * @resource Custom::IoTProvisioningTemplateSettings
 */
export class ProvisioningTemplateSettings extends Construct {
  /**
   * The handler function that every ProvisioningTemplateSettings of `scope`'s
   * stack shares, with its role and log group (for alarms, permissions
   * boundaries, acknowledgements).
   *
   * @param scope the stack, or any construct in it
   * @returns undefined when that stack holds no ProvisioningTemplateSettings
   * (nested stacks have their own handler)
   */
  public static handlerOf(scope: IConstruct): SettingsHandler | undefined {
    return SettingsProvider.find(scope)?.handler();
  }

  /** Name of the managed provisioning template. */
  public readonly templateName: string;

  /** ARN of the managed provisioning template, as AWS IoT reports it. */
  public readonly templateArn: string;

  /**
   * The handler function this construct's custom resource runs on, shared by
   * every ProvisioningTemplateSettings of the stack, with its role and log
   * group (the same as `ProvisioningTemplateSettings.handlerOf(stack)`).
   */
  public get handler(): SettingsHandler {
    return SettingsProvider.of(this).handler();
  }

  constructor(scope: Construct, id: string, props: ProvisioningTemplateSettingsProps) {
    super(scope, id);
    // Every problem with the props is reported at once, each naming the prop,
    // its value and what is allowed: CDK lists them at synth under this
    // construct's path, with those of every other construct of the app.
    const { types, values } = propErrors(props);
    if (types.length > 0) {
      // Only plain JavaScript passes a value of the wrong type, and nothing can
      // be built from it: refused now, together with the other problems.
      throw new Error(
        `Validation failed with the following errors:\n  ${[...types, ...values].map((e) => `[${this.node.path}] ${e}`).join('\n  ')}`,
      );
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const hook = props.preProvisioningHook;
    const errors = [...values];
    if (hook) {
      const account = hookAccountCheck(Stack.of(this), hook.hookFunction);
      if (account && 'error' in account) {
        errors.push(account.error);
      } else if (account) {
        Annotations.of(this).addWarningV2(HOOK_ACCOUNT_UNKNOWN_WARNING_ID, account.warning);
      }
    }

    const claimed = TemplateRegistry.of(this).claim(this, props.templateName);
    if (claimed) {
      errors.push(claimed);
    }

    const provider = SettingsProvider.of(this);
    const dependencies = provider.register({
      templateName: props.templateName,
      hookFunction: hook?.hookFunction,
      provisioningRole: props.provisioningRole,
    });

    const template = sameStackTemplate(this, props.templateName);
    if (template && props.defaultVersionId !== undefined) {
      Annotations.of(this).addWarningV2(
        PINNED_VERSION_WARNING_ID,
        pinnedVersionWarning(template, props.defaultVersionId),
      );
    }
    if (template) {
      const pairing = pairingProblems(template, {
        description: props.description,
        enabled: props.enabled,
        provisioningRoleArn: props.provisioningRole?.roleArn,
        hook: hook && { targetArn: hook.hookFunction.functionArn, payloadVersion: hook.payloadVersion },
      });
      errors.push(...pairing.errors);
      pairing.warnings.forEach((w) => Annotations.of(this).addWarningV2(w.id, w.message));
    }
    const properties: Omit<SettingsProperties, 'ServiceToken'> = {
      TemplateName: props.templateName,
      ...settingsProperties(props),
      ProvisioningRoleInApp:
        props.provisioningRole && Resource.isOwnedResource(props.provisioningRole) ? 'true' : undefined,
      TemplateRevision: template && templateRevision(template),
    };

    const resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.function.attrArn,
      resourceType: RESOURCE_TYPE,
      properties,
      serviceTimeout: SERVICE_TIMEOUT,
      removalPolicy,
    });
    resource.node.addDependency(...dependencies);
    const cfn = resource.node.defaultChild as CfnResource;
    // `cdk refactor` renames logical ids without an event to the resource, so
    // its owner tag would name an id that no longer exists: the toolkit leaves
    // resources with this metadata out, and they move by replacement (a
    // Create under the new id, then a Delete of the old one), which the
    // handler's ownership carries.
    cfn.node.addMetadata('aws:cdk:do-not-refactor', true);
    // Resolved at synth, after aspects such as RemovalPolicies have run.
    cfn.addPropertyOverride(
      'Retained',
      Lazy.string({
        produce: () => (cfn.cfnOptions.deletionPolicy === CfnDeletionPolicy.RETAIN ? 'true' : undefined),
      }),
    );
    this.node.addValidation({
      // The removal policy is checked at synth, after aspects such as RemovalPolicies have run.
      validate: () => [...errors, ...(hook ? retainedHookErrors(cfn, hook.hookFunction, provider) : [])],
    });

    this.templateName = props.templateName;
    this.templateArn = resource.getAttString(ATTR_TEMPLATE_ARN);
  }
}

/** The custom resource's property of each setting the props manage (SETTINGS' `encode`). */
function settingsProperties(props: ProvisioningTemplateSettingsProps): Partial<SettingsProperties> {
  const properties: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const value = (props as unknown as Record<string, unknown>)[setting.prop];
    if (value !== undefined) {
      properties[setting.key] = setting.encode(value as never);
    }
  }
  return properties;
}
