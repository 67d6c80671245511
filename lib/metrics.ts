/**
 * The CloudWatch metrics AWS IoT publishes for one provisioning template, as
 * the metric methods of ProvisioningTemplateSettings give them.
 *
 * AWS IoT Core Developer Guide, "AWS IoT metrics and dimensions", "Device
 * provisioning metrics"
 * (https://docs.aws.amazon.com/iot/latest/developerguide/metrics_dimensions.html#provisioning-metrics):
 * namespace `AWS/IoT`. Of the device provisioning metrics, only
 * `RegisterThingFailed` has the `TemplateName` dimension ("The name of the
 * provisioning template"); it is emitted for every call of the RegisterThing
 * MQTT API, 1 for a failure and 0 for a success, and its statistics are "Sum
 * to report the number of failed calls" and "SampleCount to report the total
 * number of successful and failed calls". The others are not per template:
 * `ApproximateNumberOfThingsRegistered` has the `ClaimCertificateId`
 * dimension, `CreateKeysAndCertificateFailed` and
 * `CreateCertificateFromCsrFailed` none, and the page names none for the
 * just-in-time provisioning metrics (`ProvisionThing.*`).
 *
 * aws-cloudwatch is loaded on the first metric asked for, not on every synth
 * (as lib/provider.ts does for aws-logs; see bench/).
 *
 * Internal: not exported from the package's entry point.
 */
import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { IConstruct } from 'constructs';
import { DRIFT_METRIC, METRIC_NAMESPACE } from './handler-contract';

/** The namespace of AWS IoT's metrics. */
export const IOT_NAMESPACE = 'AWS/IoT';

/** The dimension that names a provisioning template. */
export const TEMPLATE_NAME_DIMENSION = 'TemplateName';

/** Failed (1) and successful (0) calls of the RegisterThing MQTT API, per template. */
export const REGISTER_THING_FAILED = 'RegisterThingFailed';

/** A construct that manages one template: the metrics are attached to its stack's account and region. */
export interface TemplateScope extends IConstruct {
  readonly templateName: string;
}

/**
 * `metricName` of the `AWS/IoT` namespace for the template of `scope`, in
 * aws-cdk-lib's way (`FunctionBase.metric()`): `props` override the
 * namespace, name and dimension as well; CloudWatch's defaults otherwise
 * (the average over 5 minutes).
 */
export function templateMetric(
  scope: TemplateScope,
  metricName: string,
  props?: cloudwatch.MetricOptions,
  namespace = IOT_NAMESPACE,
): cloudwatch.Metric {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cw = require('aws-cdk-lib/aws-cloudwatch') as typeof import('aws-cdk-lib/aws-cloudwatch');
  return new cw.Metric({
    namespace,
    metricName,
    dimensionsMap: { [TEMPLATE_NAME_DIMENSION]: scope.templateName },
    ...props,
  }).attachTo(scope);
}

/** The failed RegisterThing calls of the template of `scope`: `RegisterThingFailed`, Sum. */
export function registerThingFailed(scope: TemplateScope, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
  return templateMetric(scope, REGISTER_THING_FAILED, { statistic: 'Sum', ...props });
}

/** Every RegisterThing call of the template of `scope`, failed or not: `RegisterThingFailed`, SampleCount. */
export function registerThingCalls(scope: TemplateScope, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
  return templateMetric(scope, REGISTER_THING_FAILED, { statistic: 'SampleCount', ...props });
}

/**
 * What the drift check (lambda/drift.ts) publishes for the template of
 * `scope`: `DriftedSettings` in the construct's own namespace, the maximum
 * over two of the check's `interval`s.
 */
export function driftMetric(
  scope: TemplateScope,
  interval: Duration,
  props?: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  // Two intervals: the schedule is not aligned with CloudWatch's periods, so one interval may hold no check.
  const period = Duration.minutes(2 * interval.toMinutes());
  return templateMetric(scope, DRIFT_METRIC, { statistic: 'Maximum', period, ...props }, METRIC_NAMESPACE);
}
