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
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct, IConstruct } from 'constructs';
import {
  HOOK_ACCOUNT_UNKNOWN_WARNING_ID,
  PINNED_VERSION_WARNING_ID,
  hookAccountCheck,
  retainedHookErrors,
  pinnedVersionWarning,
  propErrors,
} from './checks';
import { DriftCheck } from './drift-check';
import { DriftSchedule, intervalProblem } from './drift-schedule';
import { hookWarnings } from './hook-checks';
import { ATTR_TEMPLATE_ARN, RESOURCE_TYPE, SettingsProperties } from './handler-contract';
import { driftMetric, registerThingCalls, registerThingFailed, templateMetric } from './metrics';
import { SERVICE_TIMEOUT, SettingsProvider } from './provider';
import { TemplateRegistry } from './registry';
import { ProvisioningTemplateSettingsProps } from './props';
import { pairingProblems, sameStackTemplate, templateRevision } from './same-stack-template';
import { settingsProperties } from './setting-props';
import type { SettingsHandler } from './settings-handler';

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

  private readonly driftCheck?: DriftCheck;

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
      driftCheck: props.driftCheck !== undefined,
    });
    this.driftCheck = props.driftCheck;
    if (props.driftCheck) {
      const problem = intervalProblem(props.driftCheck);
      if (problem) errors.push(problem);
      else DriftSchedule.of(provider).request(props.driftCheck.interval);
    }

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
      Drift: props.driftCheck?.mode,
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
      // The removal policy and the hook function's settings are checked at synth, after aspects have run.
      validate: () => {
        if (!hook) {
          return errors;
        }
        hookWarnings(hook.hookFunction).forEach((w) => Annotations.of(this).addWarningV2(w.id, w.message));
        return [...errors, ...retainedHookErrors(cfn, hook.hookFunction, provider)];
      },
    });

    this.templateName = props.templateName;
    this.templateArn = resource.getAttString(ATTR_TEMPLATE_ARN);
  }

  /**
   * A metric AWS IoT publishes for this template: namespace `AWS/IoT`,
   * dimension `TemplateName` set to `templateName`; by default the average
   * over 5 minutes. `props` override any of these.
   *
   * Metric names and their statistics: AWS IoT Core Developer Guide, "AWS IoT
   * metrics and dimensions", "Device provisioning metrics".
   *
   * @see https://docs.aws.amazon.com/iot/latest/developerguide/metrics_dimensions.html#provisioning-metrics
   * @param metricName a metric of the `AWS/IoT` namespace with the `TemplateName` dimension, such as `RegisterThingFailed`
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return templateMetric(this, metricName, props);
  }

  /**
   * Failed registrations by fleet provisioning with this template:
   * `RegisterThingFailed` (namespace `AWS/IoT`, dimension `TemplateName`),
   * the Sum over 5 minutes, which AWS documents "to report the number of
   * failed calls" of the RegisterThing MQTT API (each call counts 1 when it
   * fails, 0 when it succeeds). A registration fails, among other reasons,
   * when the pre-provisioning hook fails, does not allow the device, or does
   * not answer within 5 seconds. No data when no device registers.
   *
   * @see https://docs.aws.amazon.com/iot/latest/developerguide/metrics_dimensions.html#provisioning-metrics
   */
  public metricRegisterThingFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return registerThingFailed(this, props);
  }

  /**
   * Registrations by fleet provisioning with this template, failed or not:
   * `RegisterThingFailed` (namespace `AWS/IoT`, dimension `TemplateName`),
   * the SampleCount over 5 minutes, which AWS documents "to report the total
   * number of successful and failed calls" of the RegisterThing MQTT API.
   * With `metricRegisterThingFailed()`, the share of registrations that fail.
   *
   * @see https://docs.aws.amazon.com/iot/latest/developerguide/metrics_dimensions.html#provisioning-metrics
   */
  public metricRegisterThingCalls(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return registerThingCalls(this, props);
  }

  /**
   * The number of this template's settings that differ from what the
   * construct last applied, as the drift check (`driftCheck`) last found:
   * namespace `IoTProvisioningTemplateSettings`, dimension `TemplateName`,
   * the maximum over two of the check's intervals. Alarm on it at a
   * threshold of 1, treating missing data as breaching: a template the check
   * no longer sees (deleted, or its applied settings gone) publishes nothing.
   *
   * @param props to change the statistic, period or label
   */
  public metricDrift(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (!this.driftCheck) {
      throw new Error(`[${this.node.path}] metricDrift() needs a drift check: set the driftCheck prop.`);
    }
    return driftMetric(this, this.driftCheck.interval, props);
  }
}
