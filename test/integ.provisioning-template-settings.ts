/**
 * Integration test for ProvisioningTemplateSettings, run against a real AWS
 * account with integ-runner (see docs/integration-test.md). Nothing here
 * runs in `npm test`: test/integ-snapshot.test.ts only synthesizes this app
 * and compares it with the committed snapshot.
 *
 * One CloudFormation stack (STACK_NAME) is deployed twice, in this order:
 *
 * 1. `Create`: a FLEET_PROVISIONING template (created disabled, with an initial
 *    role and description), a hook function and a provisioning role, and a
 *    ProvisioningTemplateSettings that enables the template, sets the role,
 *    the description and the hook.
 * 2. `CreateCheck` (its own stack): describeProvisioningTemplate must show the
 *    hook, enabled and the role; otherwise this stack fails to deploy, which
 *    stops the test before the update.
 * 3. `Update`: the same stack name and the same resources, with the hook
 *    removed from the props. CloudFormation sends the custom resource an
 *    Update whose old properties hold the hook.
 * 4. The IntegTest's assertion stack: describeProvisioningTemplate shows the
 *    template still enabled with the role and description, and a small
 *    function reports that the template has no hook any more.
 *
 * `Create` and `Update` are two artifacts of one CloudFormation stack: the
 * deploy of `Update` (which depends on `CreateCheck`, which depends on
 * `Create`) is a stack update. Both pass `template.ref` as the template name,
 * which also orders the custom resource after the template.
 */
import * as fs from 'fs';
import { App, ArnFormat, Aws, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsApiCall, ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { Construct } from 'constructs';
import { ProvisioningHook, ProvisioningTemplateSettings } from '../lib';

/** The CloudFormation stack that `Create` creates and `Update` updates. */
export const STACK_NAME = 'IntegProvisioningTemplateSettings';
const TEMPLATE_NAME = 'IntegProvisioningTemplateSettings';
const HOOK_FUNCTION_NAME = 'IntegProvisioningTemplateSettings-hook';
// IAM role names are global: the region keeps runs in two regions apart.
const INITIAL_ROLE_NAME = `IntegProvisioningTemplateSettings-initial-${Aws.REGION}`;
const PROVISIONING_ROLE_NAME = `IntegProvisioningTemplateSettings-managed-${Aws.REGION}`;
const DESCRIPTION = 'Managed by the ProvisioningTemplateSettings integration test';

/** A minimal fleet provisioning template: one thing per device serial number. */
const TEMPLATE_BODY = {
  Parameters: {
    SerialNumber: { Type: 'String' },
    'AWS::IoT::Certificate::Id': { Type: 'String' },
  },
  Resources: {
    thing: {
      Type: 'AWS::IoT::Thing',
      Properties: { ThingName: { 'Fn::Join': ['', ['integ-', { Ref: 'SerialNumber' }]] } },
    },
    certificate: {
      Type: 'AWS::IoT::Certificate',
      Properties: { CertificateId: { Ref: 'AWS::IoT::Certificate::Id' }, Status: 'ACTIVE' },
    },
  },
};

interface SettingsUnderTestProps extends StackProps {
  /** Whether ProvisioningTemplateSettings sets the pre-provisioning hook. */
  readonly withHook: boolean;
}

/** The stack under test. Both phases build the same construct tree, so logical ids match. */
class SettingsUnderTest extends Stack {
  constructor(scope: Construct, id: string, props: SettingsUnderTestProps) {
    super(scope, id, { ...props, stackName: STACK_NAME });

    const initialRole = provisioningRole(this, 'InitialRole', INITIAL_ROLE_NAME);
    const managedRole = provisioningRole(this, 'ManagedRole', PROVISIONING_ROLE_NAME);

    const template = new iot.CfnProvisioningTemplate(this, 'Template', {
      templateName: TEMPLATE_NAME,
      templateType: 'FLEET_PROVISIONING',
      description: 'Created by the ProvisioningTemplateSettings integration test',
      enabled: false,
      provisioningRoleArn: initialRole.roleArn,
      templateBody: JSON.stringify(TEMPLATE_BODY),
    });

    const hookFunction = testFunction(this, 'Hook', {
      functionName: HOOK_FUNCTION_NAME,
      description: 'Pre-provisioning hook of the ProvisioningTemplateSettings integration test',
      code: lambda.Code.fromInline('exports.handler = async () => ({ allowProvisioning: true });'),
    });

    new ProvisioningTemplateSettings(this, 'Settings', {
      templateName: template.ref,
      enabled: true,
      description: DESCRIPTION,
      provisioningRole: managedRole,
      preProvisioningHook: props.withHook ? ProvisioningHook.fromFunction(hookFunction) : undefined,
    });
  }
}

function provisioningRole(scope: Construct, id: string, roleName: string): iam.Role {
  return new iam.Role(scope, id, {
    roleName,
    assumedBy: new iam.ServicePrincipal('iot.amazonaws.com'),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSIoTThingsRegistration')],
  });
}

/** A small Node.js function of the test, whose logs go when the test's stacks go. */
function testFunction(
  scope: Construct,
  id: string,
  props: Pick<lambda.FunctionProps, 'code' | 'description' | 'environment' | 'functionName' | 'timeout'>,
): lambda.Function {
  return new lambda.Function(scope, id, {
    ...props,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    logGroup: new logs.LogGroup(scope, `${id}Logs`, {
      retention: logs.RetentionDays.ONE_DAY,
      removalPolicy: RemovalPolicy.DESTROY,
    }),
  });
}

/** ARNs of the named resources, as any stack of the test can write them. */
function roleArn(scope: Stack, roleName: string): string {
  return scope.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: roleName });
}
function hookFunctionArn(scope: Stack): string {
  return scope.formatArn({
    service: 'lambda',
    resource: 'function',
    resourceName: HOOK_FUNCTION_NAME,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/**
 * The context integ-runner synthesizes integration tests with: its recommended
 * feature flags (read from the installed @aws-cdk/integ-runner, minus the
 * target partitions it unsets), no version reporting, no path or asset
 * metadata. Two keys are added, which change no template: no stack traces in
 * *.metadata.json, whose absolute paths would differ on every machine. Run
 * directly (`cdk deploy --app 'npx tsx <this file>'`), the app gets the same
 * context, so it deploys the templates of the snapshot.
 */
export function integRunnerContext(): Record<string, unknown> {
  const flagsFile = require.resolve('@aws-cdk/integ-runner/lib/recommended-feature-flags.json');
  const context: Record<string, unknown> = JSON.parse(fs.readFileSync(flagsFile, 'utf8'));
  delete context['@aws-cdk/core:target-partitions'];
  return {
    ...context,
    'aws:cdk:disable-version-reporting': true,
    'aws:cdk:bundling-stacks': ['**'],
    'aws:cdk:disable-stack-trace': true,
    'aws:cdk:disable-creation-stack-traces': true,
  };
}

/** Adds the whole integration test to `app`. */
export function buildIntegTest(app: App): IntegTest {
  const create = new SettingsUnderTest(app, 'Create', { withHook: true });

  // Outside the IntegTest's assertion stack an assertion does not fail the
  // deployment on its own; waiting for it does, once the timeout is reached.
  const createCheck = new Stack(app, 'CreateCheck', { stackName: `${STACK_NAME}-CreateCheck` });
  createCheck.addStackDependency(create);
  new AwsApiCall(createCheck, 'DescribeAfterCreate', {
    service: 'IoT',
    api: 'describeProvisioningTemplate',
    parameters: { templateName: TEMPLATE_NAME },
  })
    .expect(
      ExpectedResult.objectLike({
        templateName: TEMPLATE_NAME,
        enabled: true,
        description: DESCRIPTION,
        provisioningRoleArn: roleArn(createCheck, PROVISIONING_ROLE_NAME),
        preProvisioningHook: {
          targetArn: hookFunctionArn(createCheck),
          payloadVersion: '2020-04-01',
        },
      }),
    )
    .waitForAssertions({ totalTimeout: Duration.minutes(2), interval: Duration.seconds(10) });

  const update = new SettingsUnderTest(app, 'Update', { withHook: false });
  update.addStackDependency(createCheck, 'the update runs after the checks of the create');
  update.addStackDependency(create);

  const assertions = new Stack(app, 'Assertions', { stackName: `${STACK_NAME}-Assertions` });
  const integ = new IntegTest(app, 'ProvisioningTemplateSettingsInteg', {
    // Only `Create` and `Update` are compared with the snapshot by integ-runner;
    // `CreateCheck` is deployed because `Update` depends on it.
    testCases: [create, update],
    assertionStack: assertions,
    // The committed snapshot has no asset bodies, so integ-runner cannot
    // deploy it as the "before" of an update workflow.
    stackUpdateWorkflow: false,
    // The handler's code is part of what the snapshot pins.
    diffAssets: true,
  });

  integ.assertions.awsApiCall('IoT', 'describeProvisioningTemplate', { templateName: TEMPLATE_NAME }).expect(
    ExpectedResult.objectLike({
      templateName: TEMPLATE_NAME,
      enabled: true,
      description: DESCRIPTION,
      provisioningRoleArn: roleArn(assertions, PROVISIONING_ROLE_NAME),
    }),
  );

  // The assertion matchers cannot express "this key is absent", so a function
  // reads the template and reports its hook, or 'none'.
  const hookReporter = testFunction(assertions, 'HookReporter', {
    description: 'Reports the pre-provisioning hook of the integration test template',
    timeout: Duration.seconds(30),
    environment: { TEMPLATE_NAME },
    code: lambda.Code.fromInline(
      [
        "const { IoTClient, DescribeProvisioningTemplateCommand } = require('@aws-sdk/client-iot');",
        'exports.handler = async () => {',
        '  const t = await new IoTClient({}).send(new DescribeProvisioningTemplateCommand({ templateName: process.env.TEMPLATE_NAME }));',
        "  return { preProvisioningHook: t.preProvisioningHook ? t.preProvisioningHook.targetArn : 'none' };",
        '};',
      ].join('\n'),
    ),
  });
  hookReporter.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['iot:DescribeProvisioningTemplate'],
      resources: [
        assertions.formatArn({ service: 'iot', resource: 'provisioningtemplate', resourceName: TEMPLATE_NAME }),
      ],
    }),
  );
  integ.assertions
    .invokeFunction({ functionName: hookReporter.functionName })
    .expect(ExpectedResult.objectLike({ Payload: JSON.stringify({ preProvisioningHook: 'none' }) }));

  return integ;
}

if (require.main === module) {
  const app = new App({ context: integRunnerContext() });
  buildIntegTest(app);
  app.synth();
}
