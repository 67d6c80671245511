/**
 * The CDK app that `npm run verify:aws` deploys, one phase at a time, with the
 * CDK CLI of this repository. Two stacks:
 *
 * - main: two templates (one managed here by `ref`, one left for ext), two
 *   provisioning roles, a hook function, and the ProvisioningTemplateSettings
 *   under test, changed phase by phase;
 * - ext: a ProvisioningTemplateSettings of main's second template, by name,
 *   with a hook of its own: a failed first deployment, then a deployment that
 *   succeeds and is deleted.
 *
 * In a "failed" phase a custom resource that always fails is added after the
 * settings, so CloudFormation rolls back after the settings were written.
 *
 * Run by the CDK CLI as `tsx scripts/verify-aws/app.ts` with the context keys
 * below; test/verify-aws/app.test.ts synthesizes every phase offline.
 */
import { Annotations, App, CfnOutput, CustomResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ProvisioningHook, ProvisioningTemplateSettings } from '../../lib';
import { RUN_ATTRIBUTE, RunNames, runNames } from './names';

export const MAIN_PHASES = ['create', 'body', 'rename', 'update', 'failed-update'] as const;
export const EXT_PHASES = ['failed-create', 'create'] as const;
export type MainPhase = (typeof MAIN_PHASES)[number];
export type ExtPhase = (typeof EXT_PHASES)[number];

/** The context keys the runner passes to the CDK CLI. */
export const CONTEXT = {
  prefix: 'verify:prefix',
  account: 'verify:account',
  region: 'verify:region',
  main: 'verify:main',
  ext: 'verify:ext',
  version: 'verify:version',
} as const;

export interface VerifyAppProps {
  readonly prefix: string;
  readonly account: string;
  readonly region: string;
  readonly main: MainPhase;
  readonly ext: ExtPhase;
  /** `failed-update` only: the version the settings start to manage as the default. */
  readonly versionId?: number;
}

/** What the settings of each phase ask for: the checks compare the template with these. */
export const DESCRIPTIONS = {
  created: 'verify:aws: as the template was created',
  managed: 'verify:aws: set by ProvisioningTemplateSettings',
  updated: 'verify:aws: changed by an update',
  extBefore: 'verify:aws: external template, before',
  extManaged: 'verify:aws: external template, managed',
} as const;

/** The hook: allows a device unless its serial number starts with `refuse-`, and says so in a parameter. */
export const HOOK_CODE = [
  'exports.handler = async (event) => {',
  "  const serial = (event.parameters && event.parameters.SerialNumber) || '';",
  "  const allow = !serial.startsWith('refuse-');",
  "  console.log(JSON.stringify({ message: 'pre-provisioning hook', serial, allow, templateArn: event.templateArn }));",
  "  return { allowProvisioning: allow, parameterOverrides: { ApprovedBy: 'hook' } };",
  '};',
].join('\n');

/** A custom resource handler that fails every Create and lets every Delete pass. */
export const FAIL_CODE = [
  'exports.handler = async (event) => {',
  "  const fail = event.RequestType === 'Create';",
  '  const body = JSON.stringify({',
  "    Status: fail ? 'FAILED' : 'SUCCESS',",
  "    Reason: 'made to fail by verify:aws',",
  "    PhysicalResourceId: event.PhysicalResourceId || 'verify-aws-made-to-fail',",
  '    StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId,',
  '  });',
  "  await fetch(event.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '' } });",
  '};',
].join('\n');

/** The template body: one thing per device, marked with the run and with who approved it. */
export function templateBody(prefix: string, revision: string): string {
  return JSON.stringify({
    Parameters: {
      SerialNumber: { Type: 'String' },
      ApprovedBy: { Type: 'String', Default: 'template' },
      'AWS::IoT::Certificate::Id': { Type: 'String' },
    },
    Resources: {
      thing: {
        Type: 'AWS::IoT::Thing',
        Properties: {
          ThingName: { 'Fn::Join': ['', [`${prefix}-`, { Ref: 'SerialNumber' }]] },
          AttributePayload: { [RUN_ATTRIBUTE]: prefix, approvedBy: { Ref: 'ApprovedBy' }, bodyRevision: revision },
        },
      },
      certificate: {
        Type: 'AWS::IoT::Certificate',
        Properties: { CertificateId: { Ref: 'AWS::IoT::Certificate::Id' }, Status: 'INACTIVE' },
      },
    },
  });
}

function smallFunction(scope: Construct, id: string, functionName: string, code: string): lambda.Function {
  return new lambda.Function(scope, id, {
    functionName,
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(code),
    logGroup: new logs.LogGroup(scope, `${id}Logs`, {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: logs.RetentionDays.ONE_DAY,
      removalPolicy: RemovalPolicy.DESTROY,
    }),
  });
}

function provisioningRole(scope: Construct, id: string, roleName: string): iam.Role {
  return new iam.Role(scope, id, {
    roleName,
    assumedBy: new iam.ServicePrincipal('iot.amazonaws.com'),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSIoTThingsRegistration')],
  });
}

/** A resource that fails its Create, ordered after `after`. */
function madeToFail(scope: Construct, names: RunNames, after: Construct): void {
  const fn = smallFunction(scope, 'MadeToFail', names.failFunction, FAIL_CODE);
  const resource = new CustomResource(scope, 'MadeToFailResource', {
    serviceToken: fn.functionArn,
    resourceType: 'Custom::VerifyAwsMadeToFail',
  });
  resource.node.addDependency(after);
}

export class MainStack extends Stack {
  constructor(scope: Construct, id: string, props: VerifyAppProps) {
    const names = runNames(props.prefix);
    super(scope, id, { stackName: names.mainStack, env: { account: props.account, region: props.region } });
    const phase = props.main;
    const initialRole = provisioningRole(this, 'InitialRole', names.initialRole);
    const managedRole = provisioningRole(this, 'ManagedRole', names.managedRole);
    const template = new iot.CfnProvisioningTemplate(this, 'Template', {
      templateName: names.template,
      templateType: 'FLEET_PROVISIONING',
      description: DESCRIPTIONS.created,
      enabled: false,
      provisioningRoleArn: initialRole.roleArn,
      templateBody: templateBody(props.prefix, phase === 'create' ? '1' : '2'),
    });
    new iot.CfnProvisioningTemplate(this, 'ExternalTemplate', {
      templateName: names.extTemplate,
      templateType: 'FLEET_PROVISIONING',
      description: DESCRIPTIONS.extBefore,
      enabled: false,
      provisioningRoleArn: initialRole.roleArn,
      templateBody: templateBody(props.prefix, '1'),
    });
    const hook = smallFunction(this, 'Hook', names.hookFunction, HOOK_CODE);
    const updated = phase === 'update' || phase === 'failed-update';
    if (phase === 'failed-update' && props.versionId === undefined) {
      throw new Error(`The failed-update phase needs the ${CONTEXT.version} context.`);
    }
    const settings = new ProvisioningTemplateSettings(
      this,
      phase === 'create' || phase === 'body' ? 'Settings' : 'SettingsRenamed',
      {
        templateName: template.ref,
        enabled: true,
        description: updated ? DESCRIPTIONS.updated : DESCRIPTIONS.managed,
        provisioningRole: managedRole,
        preProvisioningHook: updated ? undefined : ProvisioningHook.fromFunction(hook),
        defaultVersionId: phase === 'failed-update' ? props.versionId : undefined,
      },
    );
    if (phase === 'failed-update') {
      Annotations.of(settings).acknowledgeWarning(
        'cdk-iot-provisioning-template-settings:defaultVersionPinned',
        'verify:aws pins a version on purpose: the update is made to fail and rolled back',
      );
      madeToFail(this, names, settings);
    }
    new CfnOutput(this, 'TemplateArn', { value: settings.templateArn });
  }
}

export class ExtStack extends Stack {
  constructor(scope: Construct, id: string, props: VerifyAppProps) {
    const names = runNames(props.prefix);
    super(scope, id, { stackName: names.extStack, env: { account: props.account, region: props.region } });
    const hook = smallFunction(this, 'Hook', names.extHookFunction, HOOK_CODE);
    const settings = new ProvisioningTemplateSettings(this, 'Settings', {
      templateName: names.extTemplate,
      enabled: true,
      description: DESCRIPTIONS.extManaged,
      preProvisioningHook: ProvisioningHook.fromFunction(hook),
    });
    if (props.ext === 'failed-create') madeToFail(this, names, settings);
  }
}

/** Adds both stacks to `app`. */
export function buildVerifyApp(app: App, props: VerifyAppProps): { main: MainStack; ext: ExtStack } {
  return { main: new MainStack(app, 'Main', props), ext: new ExtStack(app, 'Ext', props) };
}

/** The props from the app's context (as the CDK CLI passes it). */
export function propsFromContext(app: App): VerifyAppProps {
  const get = (key: string): string => {
    const value: unknown = app.node.tryGetContext(key);
    if (typeof value !== 'string' || value === '') throw new Error(`Missing context ${key}.`);
    return value;
  };
  const main = get(CONTEXT.main) as MainPhase;
  const ext = get(CONTEXT.ext) as ExtPhase;
  if (!MAIN_PHASES.includes(main) || !EXT_PHASES.includes(ext)) {
    throw new Error(`Unknown phase: main ${main}, ext ${ext}.`);
  }
  const version: unknown = app.node.tryGetContext(CONTEXT.version);
  return {
    prefix: get(CONTEXT.prefix),
    account: get(CONTEXT.account),
    region: get(CONTEXT.region),
    main,
    ext,
    versionId: version === undefined ? undefined : Number(version),
  };
}

if (require.main === module) {
  const app = new App();
  buildVerifyApp(app, propsFromContext(app));
  app.synth();
}
