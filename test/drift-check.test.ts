/** The drift check at synth: the stack's one schedule, its permissions, the property, and metricDrift(). */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { DriftCheck, ProvisioningTemplateSettings } from '../lib';
import { RESOURCE_TYPE } from '../lib/handler-contract';

const stackOf = () => new Stack(new App(), 'Fleet', { env: { account: '123456789012', region: 'eu-west-1' } });

test('one schedule per stack, at the shortest interval asked, invoking the handler with the stack id', () => {
  const stack = stackOf();
  new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a', enabled: true, driftCheck: DriftCheck.report() });
  new ProvisioningTemplateSettings(stack, 'B', {
    templateName: 'b',
    enabled: true,
    driftCheck: DriftCheck.restore({ interval: Duration.minutes(15) }),
  });
  new ProvisioningTemplateSettings(stack, 'C', { templateName: 'c', enabled: true });
  const template = Template.fromStack(stack);

  template.resourceCountIs('AWS::Events::Rule', 1);
  const [rule] = Object.values(template.findResources('AWS::Events::Rule'));
  expect(rule.Properties.ScheduleExpression).toBe('rate(15 minutes)');
  const target = rule.Properties.Targets[0];
  expect(target.Arn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/Handler/), 'Arn'] });
  expect(JSON.stringify(target.Input)).toContain('driftCheck');
  expect(JSON.stringify(target.Input)).toContain('AWS::StackId');
  template.hasResourceProperties('AWS::Lambda::Permission', {
    Principal: 'events.amazonaws.com',
    SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DriftCheckRule'), 'Arn'] },
  });

  const drift = Object.values(template.findResources(RESOURCE_TYPE)).map((r) => r.Properties.Drift);
  expect(drift).toEqual(['report', 'restore', undefined]);
});

test('no drift check asked: no schedule, and no ListStackResources in the policy', () => {
  const stack = stackOf();
  new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a', enabled: true });
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Events::Rule', 0);
  expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('ListStackResources');
});

test('a drift check lets the handler list its own stack, and nothing more', () => {
  const stack = stackOf();
  new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a', enabled: true, driftCheck: DriftCheck.report() });
  Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Sid: 'ReadOwnStack',
          Action: Match.arrayWith(['cloudformation:ListStackResources']),
          Resource: { Ref: 'AWS::StackId' },
        }),
      ]),
    },
  });
});

test.each([
  [Duration.seconds(30), '30 seconds'],
  [Duration.seconds(90), '1 minute 30 seconds'],
  [Duration.hours(13), '13 hours'],
])('an interval of %s is refused, naming the prop and the value', (interval, shown) => {
  const stack = stackOf();
  new ProvisioningTemplateSettings(stack, 'A', {
    templateName: 'a',
    enabled: true,
    driftCheck: DriftCheck.report({ interval }),
  });
  expect(() => Template.fromStack(stack)).toThrow(
    new RegExp(`driftCheck's interval must be a whole number of minutes from 1 minute to 12 hours; got ${shown}`),
  );
});

test('metricDrift(): the namespace, name, dimension and statistic the handler publishes, over two intervals', () => {
  const stack = stackOf();
  const settings = new ProvisioningTemplateSettings(stack, 'A', {
    templateName: 'fleet',
    enabled: true,
    driftCheck: DriftCheck.report({ interval: Duration.minutes(30) }),
  });
  const metric = settings.metricDrift();
  expect(metric).toBeInstanceOf(cloudwatch.Metric);
  expect(stack.resolve(metric.toMetricConfig().metricStat)).toMatchObject({
    namespace: 'IoTProvisioningTemplateSettings',
    metricName: 'DriftedSettings',
    dimensions: [{ name: 'TemplateName', value: 'fleet' }],
    statistic: 'Maximum',
    period: { amount: 60, unit: { label: 'minutes' } },
  });
  new cloudwatch.Alarm(stack, 'Drifted', { metric, threshold: 1, evaluationPeriods: 1 });
  Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'IoTProvisioningTemplateSettings',
    MetricName: 'DriftedSettings',
    Dimensions: [{ Name: 'TemplateName', Value: 'fleet' }],
    Statistic: 'Maximum',
    Period: 3600,
  });
});

test('metricDrift() without a drift check says what to set', () => {
  const stack = stackOf();
  const settings = new ProvisioningTemplateSettings(stack, 'A', { templateName: 'fleet', enabled: true });
  expect(() => settings.metricDrift()).toThrow(
    /\[Fleet\/A\] metricDrift\(\) needs a drift check: set the driftCheck prop/,
  );
});
