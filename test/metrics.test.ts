/**
 * The template's CloudWatch metrics (lib/metrics.ts): each method renders the
 * namespace, metric name, dimension, statistic and period AWS IoT documents
 * ("AWS IoT metrics and dimensions", "Device provisioning metrics"), as a
 * metric config and as an alarm in the synthesized template; and synth that
 * asks for no metric does not load aws-cloudwatch.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iot from 'aws-cdk-lib/aws-iot';
import { ProvisioningTemplateSettings } from '../lib';

const ENV = { account: '111122223333', region: 'eu-west-1' };

function construct(env: { account?: string; region?: string } = ENV) {
  const stack = new Stack(new App(), 'Fleet', { env });
  const settings = new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 'sensor-fleet' });
  return { stack, settings };
}

/** What CloudWatch is asked for: the metric's config, resolved in its stack. */
function rendered(stack: Stack, metric: cloudwatch.IMetric) {
  return stack.resolve(metric.toMetricConfig().metricStat);
}

const TEMPLATE_DIMENSION = [{ name: 'TemplateName', value: 'sensor-fleet' }];

describe('metric methods', () => {
  test.each([
    // "Sum to report the number of failed calls."
    ['metricRegisterThingFailed', 'Sum'],
    // "SampleCount to report the total number of successful and failed calls."
    ['metricRegisterThingCalls', 'SampleCount'],
  ] as const)(
    '%s: AWS/IoT RegisterThingFailed by TemplateName, %s over 5 minutes, in the stack account and region',
    (method, statistic) => {
      const { stack, settings } = construct();
      expect(rendered(stack, settings[method]())).toEqual({
        namespace: 'AWS/IoT',
        metricName: 'RegisterThingFailed',
        dimensions: TEMPLATE_DIMENSION,
        statistic,
        period: Duration.minutes(5),
        account: ENV.account,
        region: ENV.region,
      });
    },
  );

  test('metric(name): any AWS/IoT metric of the template, CloudWatch defaults (Average over 5 minutes)', () => {
    const { stack, settings } = construct();
    expect(rendered(stack, settings.metric('RegisterThingFailed'))).toEqual(
      expect.objectContaining({
        namespace: 'AWS/IoT',
        metricName: 'RegisterThingFailed',
        dimensions: TEMPLATE_DIMENSION,
        statistic: 'Average',
        period: Duration.minutes(5),
      }),
    );
  });

  test('props override the defaults, as in aws-cdk-lib', () => {
    const { stack, settings } = construct();
    const metric = settings.metricRegisterThingFailed({
      period: Duration.minutes(1),
      label: 'failed',
      statistic: 'Max',
    });
    expect(rendered(stack, metric)).toEqual(
      expect.objectContaining({ statistic: 'Maximum', period: Duration.minutes(1), dimensions: TEMPLATE_DIMENSION }),
    );
    expect(metric.label).toBe('failed');
  });

  test("a token template name (a same-stack template's ref) is the dimension value, resolved by CloudFormation", () => {
    const stack = new Stack(new App(), 'Fleet', { env: ENV });
    const template = new iot.CfnProvisioningTemplate(stack, 'Template', {
      provisioningRoleArn: 'arn:aws:iam::111122223333:role/p',
      templateBody: '{}',
      templateType: 'FLEET_PROVISIONING',
    });
    const settings = new ProvisioningTemplateSettings(stack, 'Settings', { templateName: template.ref });
    new cloudwatch.Alarm(stack, 'Alarm', {
      metric: settings.metricRegisterThingFailed(),
      threshold: 1,
      evaluationPeriods: 1,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'TemplateName', Value: { Ref: stack.getLogicalId(template) } }],
    });
  });

  test('an environment-agnostic stack: no account or region on the metric (the alarm is in the same one)', () => {
    const { stack, settings } = construct({});
    const metric = rendered(stack, settings.metricRegisterThingFailed());
    expect(metric.account).toBeUndefined();
    expect(metric.region).toBeUndefined();
  });

  test('an alarm on each metric synthesizes with the namespace, name, dimension, statistic and period', () => {
    const { stack, settings } = construct();
    new cloudwatch.Alarm(stack, 'Failed', {
      metric: settings.metricRegisterThingFailed(),
      threshold: 1,
      evaluationPeriods: 1,
    });
    new cloudwatch.Alarm(stack, 'Calls', {
      metric: settings.metricRegisterThingCalls(),
      threshold: 1,
      evaluationPeriods: 1,
    });
    const template = Template.fromStack(stack);
    for (const statistic of ['Sum', 'SampleCount']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/IoT',
        MetricName: 'RegisterThingFailed',
        Dimensions: [{ Name: 'TemplateName', Value: 'sensor-fleet' }],
        Statistic: statistic,
        Period: 300,
      });
    }
  });
});

describe('aws-cloudwatch is loaded only when a metric is asked for', () => {
  test('synth without a metric does not load it; the first metric does', () => {
    // A fresh Node process with the compiled package (written by `npm run build`).
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-load-'));
    const script = `
      const { App, Stack } = require('aws-cdk-lib');
      const { ProvisioningTemplateSettings } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'index.js'))});
      const cloudwatchLoaded = () => Object.keys(require.cache).some((f) => f.includes(${JSON.stringify(`${path.sep}aws-cloudwatch${path.sep}`)}));
      const app = new App({ outdir: ${JSON.stringify(outdir)} });
      const settings = new ProvisioningTemplateSettings(new Stack(app, 'Test'), 'A', { templateName: 'a' });
      app.synth();
      const atSynth = cloudwatchLoaded();
      settings.metricRegisterThingFailed();
      console.log(JSON.stringify({ atSynth, afterMetric: cloudwatchLoaded() }));`;
    try {
      const out = execFileSync(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual({ atSynth: false, afterMetric: true });
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
