'use strict';
/**
 * The stack `npm run bench` measures, built two ways; test/scale.test.ts
 * builds the same stack to hold its shape at N = 250.
 *
 * One provisioning role and one hook function shared by N existing templates
 * named fleet-customer-000..., each set to enabled, default version 1, that
 * role and that hook:
 * - 'ours': one ProvisioningTemplateSettings per template;
 * - 'baseline': what users write today, one AwsCustomResource per template
 *   (installLatestAwsSdk: false, its policy scoped to that template's ARN and
 *   iam:PassRole on the role), and one invoke permission for AWS IoT.
 *
 * Plain CommonJS, so bench/synth-stack.cjs runs it with `node` and nothing
 * compiled on the fly. The construct comes from lib/ (compiled by
 * `npm run build` for the bench; the TypeScript sources under jest).
 */
const path = require('path');
const { Stack } = require('aws-cdk-lib');
const iam = require('aws-cdk-lib/aws-iam');
const lambda = require('aws-cdk-lib/aws-lambda');

const PAYLOAD_VERSION = '2020-04-01';

/** Template names: 18 characters, sharing the prefix "fleet-customer-". */
function templateName(i) {
  return `fleet-customer-${String(i).padStart(3, '0')}`;
}

/** Adds the stack 'Bench' to `app`, with `n` templates managed the `variant` way; returns the stack. */
function buildBenchStack(app, variant, n) {
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
    const ours = require(path.join(__dirname, '..', 'lib'));
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
    return stack;
  }
  if (variant !== 'baseline') {
    throw new Error(`variant must be 'ours' or 'baseline'; got ${JSON.stringify(variant)}`);
  }
  const cr = require('aws-cdk-lib/custom-resources');
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
  return stack;
}

module.exports = { buildBenchStack, templateName };
