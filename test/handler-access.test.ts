/**
 * The shared handler within reach: its function, role and log group from the
 * public API (ProvisioningTemplateSettings.handlerOf, `handler`), usable for
 * the README's alarm recipe and reached by a stack's permissions boundary;
 * and the runtime it runs on follows the app's aws-cdk-lib.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, NestedStack, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ProvisioningTemplateSettings } from '../lib';
import { RUNTIME_FLOOR, handlerRuntime } from '../lib/handler-runtime';

const ENV = { account: '111122223333', region: 'eu-west-1' };
const HANDLER = { Description: Match.stringLikeRegexp('Custom::IoTProvisioningTemplateSettings') };

function logicalIdOf(template: Template, type: string, props: object = {}): string {
  const found = Object.keys(template.findResources(type, { Properties: props }));
  expect(found).toHaveLength(1);
  return found[0];
}

describe('the shared handler from the public API', () => {
  test('handlerOf gives nothing for a stack without the construct, and the stack gets no handler from asking', () => {
    const stack = new Stack(new App(), 'Empty', { env: ENV });
    expect(ProvisioningTemplateSettings.handlerOf(stack)).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 0);
  });

  test("handlerOf(stack) and every construct's handler are the same function, role and log group: the stack's one handler", () => {
    const stack = new Stack(new App(), 'Fleet', { env: ENV });
    const a = new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a' });
    const b = new ProvisioningTemplateSettings(stack, 'B', { templateName: 'b' });
    const handler = ProvisioningTemplateSettings.handlerOf(a)!;
    expect(handler).toBe(b.handler);
    expect(handler).toBe(ProvisioningTemplateSettings.handlerOf(stack));

    const template = Template.fromStack(stack);
    const fn = logicalIdOf(template, 'AWS::Lambda::Function', HANDLER);
    const role = logicalIdOf(template, 'AWS::IAM::Role');
    const logGroup = logicalIdOf(template, 'AWS::Logs::LogGroup');
    expect(stack.resolve(handler.handlerFunction.functionArn)).toEqual({ 'Fn::GetAtt': [fn, 'Arn'] });
    expect(stack.resolve(handler.role.roleArn)).toEqual({ 'Fn::GetAtt': [role, 'Arn'] });
    expect(stack.resolve(handler.logGroup.logGroupName)).toEqual({ Ref: logGroup });
    // Asking adds no resource.
    template.resourceCountIs('AWS::Lambda::Function', 1);
  });

  test('a nested stack has its own handler', () => {
    const stack = new Stack(new App(), 'Parent', { env: ENV });
    const nested = new NestedStack(stack, 'Nested');
    new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a' });
    new ProvisioningTemplateSettings(nested, 'B', { templateName: 'b' });
    expect(ProvisioningTemplateSettings.handlerOf(nested)).toBeDefined();
    expect(ProvisioningTemplateSettings.handlerOf(nested)).not.toBe(ProvisioningTemplateSettings.handlerOf(stack));
  });

  test("the README's alarm recipe: an alarm on the function's errors and one on the log group's failed events", () => {
    const stack = new Stack(new App(), 'Fleet', { env: ENV });
    const settings = new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 'sensor-fleet' });
    // As the README has it.
    const { handlerFunction, logGroup } = settings.handler;
    const failed = new logs.MetricFilter(stack, 'SettingsFailedEvents', {
      logGroup,
      filterPattern: logs.FilterPattern.stringValue('$.message', '=', 'failed'),
      metricNamespace: 'Fleet',
      metricName: 'SettingsFailed',
    });
    for (const [id, metric] of [
      ['Crashed', handlerFunction.metricErrors()],
      ['Failed', failed.metric({ statistic: 'Sum' })],
    ] as const) {
      new cloudwatch.Alarm(stack, `Settings${id}`, { metric, threshold: 1, evaluationPeriods: 1 });
    }

    const template = Template.fromStack(stack);
    const fn = logicalIdOf(template, 'AWS::Lambda::Function', HANDLER);
    const logGroupId = logicalIdOf(template, 'AWS::Logs::LogGroup');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: Match.objectLike({}) }],
    });
    const [alarm] = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Errors' } }),
    );
    expect(JSON.stringify(alarm.Properties.Dimensions)).toContain(fn);
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logGroupId },
      FilterPattern: '{ $.message = "failed" }',
    });
    // The handler logs a failed event so (lambda/index.ts): the recipe's pattern matches a real line.
    expect(fs.readFileSync(path.join(__dirname, '..', 'lambda', 'index.ts'), 'utf8')).toContain(
      "log('failed', { reason })",
    );
  });

  test("a permissions boundary applied to the stack reaches the handler's role", () => {
    const stack = new Stack(new App(), 'Fleet', { env: ENV });
    new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 'sensor-fleet' });
    iam.PermissionsBoundary.of(stack).apply(
      iam.ManagedPolicy.fromManagedPolicyName(stack, 'Boundary', 'fleet-boundary'),
    );
    const template = Template.fromStack(stack);
    const role = logicalIdOf(template, 'AWS::IAM::Role');
    template.hasResource('AWS::IAM::Role', {
      Properties: {
        PermissionsBoundary: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':policy/fleet-boundary$')])] },
      },
    });
    expect(stack.resolve(ProvisioningTemplateSettings.handlerOf(stack)!.role.roleArn)).toEqual({
      'Fn::GetAtt': [role, 'Arn'],
    });
  });
});

describe("the handler's runtime", () => {
  const node = (name: string, extra: object = {}) =>
    Object.assign(new lambda.Runtime(name, lambda.RuntimeFamily.NODEJS), extra);

  test('the newest nodejsNN.x of the list, in numeric order, whatever the order of the list', () => {
    const runtimes = [node('nodejs24.x'), node('nodejs26.x'), node('nodejs22.x'), node('nodejs'), node('nodejs8.10')];
    expect(handlerRuntime(runtimes).name).toBe('nodejs26.x');
    expect(handlerRuntime([node('nodejs100.x'), node('nodejs99.x')]).name).toBe('nodejs100.x');
  });

  test('a runtime marked deprecated, or of another family, is skipped', () => {
    const python = new lambda.Runtime('nodejs30.x', lambda.RuntimeFamily.PYTHON);
    expect(handlerRuntime([node('nodejs24.x'), node('nodejs26.x', { isDeprecated: true }), python]).name).toBe(
      'nodejs24.x',
    );
  });

  test(`never older than nodejs${RUNTIME_FLOOR}.x, the bundle's target`, () => {
    expect(handlerRuntime([node('nodejs18.x'), node('nodejs20.x')]).name).toBe(`nodejs${RUNTIME_FLOOR}.x`);
    expect(handlerRuntime([]).name).toBe(`nodejs${RUNTIME_FLOOR}.x`);
    const bundler = fs.readFileSync(path.join(__dirname, '..', 'scripts', 'bundle-handler.mjs'), 'utf8');
    expect(bundler).toContain(`target: 'node${RUNTIME_FLOOR}'`);
  });

  test("the synthesized handler runs on the newest Node.js runtime of this aws-cdk-lib's Runtime.ALL (what cdk-nag compares with)", () => {
    const newest = Math.max(
      ...lambda.Runtime.ALL.map((r) => /^nodejs(\d+)\.x$/.exec(r.name)).flatMap((m) => (m ? [Number(m[1])] : [])),
    );
    const stack = new Stack(new App(), 'Fleet', { env: ENV });
    new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 'sensor-fleet' });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      ...HANDLER,
      Runtime: `nodejs${newest}.x`,
    });
  });
});
