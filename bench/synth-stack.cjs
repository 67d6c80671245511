'use strict';
/**
 * One synthesis, in its own process: `node bench/synth-stack.cjs <ours|baseline> <N> <outdir>`.
 *
 * Plain CommonJS on purpose: run by `node` itself, with nothing compiled on the
 * fly, so the wall time bench/run.ts measures around this process is what a
 * user's `cdk synth` of the same app would spend (Node start, loading
 * aws-cdk-lib and the construct, building the tree, writing the assembly).
 * The construct is loaded from the compiled package (lib/index.js, written by
 * `npm run build`).
 *
 * Both variants build the same stack: one provisioning role and one hook
 * function shared by N existing templates named fleet-customer-000..., each
 * set to enabled, default version 1, that role and that hook.
 *
 * Prints one JSON line: { loadMs, buildMs, synthMs } measured inside the process.
 */
const path = require('path');

const [variant, nArg, outdir] = process.argv.slice(2);
const n = Number(nArg);
if (!['ours', 'baseline'].includes(variant) || !Number.isSafeInteger(n) || n < 1 || !outdir) {
  console.error('usage: node bench/synth-stack.cjs <ours|baseline> <N> <outdir>');
  process.exit(2);
}

const t0 = performance.now();
const { App, Stack } = require('aws-cdk-lib');
const iam = require('aws-cdk-lib/aws-iam');
const lambda = require('aws-cdk-lib/aws-lambda');
const cr = variant === 'baseline' ? require('aws-cdk-lib/custom-resources') : undefined;
const ours = variant === 'ours' ? require(path.join(__dirname, '..', 'lib')) : undefined;
const t1 = performance.now();

const PAYLOAD_VERSION = '2020-04-01';

/** Template names: 18 characters, sharing the prefix "fleet-customer-". */
function templateName(i) {
  return `fleet-customer-${String(i).padStart(3, '0')}`;
}

const app = new App({ outdir });
const stack = new Stack(app, 'Bench');

const provisioningRole = new iam.Role(stack, 'ProvisioningRole', {
  assumedBy: new iam.ServicePrincipal('iot.amazonaws.com'),
  managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSIoTThingsRegistration')],
});
const hook = new lambda.Function(stack, 'Hook', {
  runtime: lambda.Runtime.NODEJS_24_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline('exports.handler = async () => ({ allowProvisioning: true });'),
});

if (variant === 'ours') {
  const preProvisioningHook = ours.ProvisioningHook.fromFunction(hook);
  for (let i = 0; i < n; i++) {
    new ours.ProvisioningTemplateSettings(stack, `Template${i}`, {
      templateName: templateName(i),
      enabled: true,
      defaultVersionId: 1,
      provisioningRole,
      preProvisioningHook,
    });
  }
} else {
  // What users write today: AWS IoT may invoke the hook (once), and one
  // AwsCustomResource per template, its policy scoped to that template.
  hook.addPermission('IoTInvoke', {
    principal: new iam.ServicePrincipal('iot.amazonaws.com'),
    sourceAccount: stack.account,
    sourceArn: stack.formatArn({ service: 'iot', resource: 'provisioningtemplate', resourceName: '*' }),
  });
  for (let i = 0; i < n; i++) {
    const name = templateName(i);
    const templateArn = stack.formatArn({ service: 'iot', resource: 'provisioningtemplate', resourceName: name });
    const update = {
      service: 'Iot',
      action: 'updateProvisioningTemplate',
      parameters: {
        templateName: name,
        enabled: true,
        defaultVersionId: 1,
        provisioningRoleArn: provisioningRole.roleArn,
        preProvisioningHook: { targetArn: hook.functionArn, payloadVersion: PAYLOAD_VERSION },
      },
      physicalResourceId: cr.PhysicalResourceId.of(name),
    };
    new cr.AwsCustomResource(stack, `Template${i}`, {
      onCreate: update,
      onUpdate: update,
      onDelete: {
        service: 'Iot',
        action: 'updateProvisioningTemplate',
        parameters: { templateName: name, removePreProvisioningHook: true },
      },
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['iot:UpdateProvisioningTemplate'], resources: [templateArn] }),
        new iam.PolicyStatement({ actions: ['iam:PassRole'], resources: [provisioningRole.roleArn] }),
      ]),
    });
  }
}
const t2 = performance.now();

app.synth();
const t3 = performance.now();

console.log(JSON.stringify({ loadMs: t1 - t0, buildMs: t2 - t1, synthMs: t3 - t2 }));
