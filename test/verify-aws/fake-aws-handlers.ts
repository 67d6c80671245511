/** The mocked SDK calls of FakeAws (fake-aws.ts), one small function each. */
import * as cfn from '@aws-sdk/client-cloudformation';
import * as logs from '@aws-sdk/client-cloudwatch-logs';
import * as iam from '@aws-sdk/client-iam';
import * as iot from '@aws-sdk/client-iot';
import * as lambda from '@aws-sdk/client-lambda';
import * as sts from '@aws-sdk/client-sts';
import type { FakeAws } from './fake-aws';
import { ACCOUNT, REGION } from './fake-aws';

const notFound = (what: string) =>
  Object.assign(new Error(`${what} does not exist`), { name: 'ResourceNotFoundException' });
const templateArn = (name: string) => `arn:aws:iot:${REGION}:${ACCOUNT}:provisioningtemplate/${name}`;

export function installHandlers(
  w: FakeAws,
  on: (mock: any, command: any, fn: (input: any) => any) => void,
  m: Record<string, any>,
): void {
  const { cfnMock, iotMock, iamMock, lambdaMock, logsMock, stsMock } = m;
  on(stsMock, sts.GetCallerIdentityCommand, () => {
    if (!w.credentials)
      throw Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      });
    return { Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/tester` };
  });

  // CloudFormation
  on(cfnMock, cfn.DescribeStacksCommand, ({ StackName }) => {
    if (StackName === 'CDKToolkit') return { Stacks: [{ StackName, StackStatus: 'UPDATE_COMPLETE' }] };
    const status = w.stacks.get(StackName);
    if (!status) throw new Error(`Stack with id ${StackName} does not exist`);
    return { Stacks: [{ StackName, StackStatus: status }] };
  });
  on(cfnMock, cfn.DescribeStackEventsCommand, ({ StackName }) => ({ StackEvents: w.events.get(StackName) ?? [] }));
  on(cfnMock, cfn.DeleteStackCommand, ({ StackName }) => w.deleteStackNow(StackName));
  on(cfnMock, cfn.CancelUpdateStackCommand, () => ({}));
  on(cfnMock, cfn.DescribeStackResourcesCommand, () => ({ StackResources: [] }));
  on(cfnMock, cfn.ListStacksCommand, () => ({
    StackSummaries: [...w.stacks].map(([StackName, StackStatus]) => ({ StackName, StackStatus })),
  }));

  // IoT: templates
  on(iotMock, iot.DescribeProvisioningTemplateCommand, ({ templateName }) => {
    const t = w.templates.get(templateName);
    if (!t) throw notFound(templateName);
    return {
      templateName,
      templateArn: templateArn(templateName),
      description: t.description,
      enabled: t.enabled,
      defaultVersionId: t.defaultVersionId,
      provisioningRoleArn: t.role,
      preProvisioningHook: t.hook ? { targetArn: t.hook } : undefined,
    };
  });
  on(iotMock, iot.ListTagsForResourceCommand, ({ resourceArn }) => {
    const t = w.templates.get(resourceArn.split('/').pop());
    return { tags: Object.entries(t?.tags ?? {}).map(([Key, Value]) => ({ Key, Value })) };
  });
  on(iotMock, iot.CreateProvisioningTemplateVersionCommand, ({ templateName }) => ({
    versionId: ++w.templates.get(templateName)!.versions,
  }));
  on(iotMock, iot.ListProvisioningTemplatesCommand, () => ({
    templates: [...w.templates.keys()].map((templateName) => ({ templateName })),
  }));
  on(iotMock, iot.DeleteProvisioningTemplateCommand, ({ templateName }) => w.templates.delete(templateName));

  // IoT: devices
  on(iotMock, iot.DescribeEndpointCommand, () => ({ endpointAddress: `abc-ats.iot.${REGION}.amazonaws.com` }));
  on(iotMock, iot.CreateKeysAndCertificateCommand, () => {
    w.certificates.add('claimcert');
    return {
      certificateId: 'claimcert',
      certificateArn: `arn:aws:iot:${REGION}:${ACCOUNT}:cert/claimcert`,
      certificatePem: 'pem',
      keyPair: { PrivateKey: 'key' },
    };
  });
  on(iotMock, iot.CreatePolicyCommand, ({ policyName }) => w.policies.add(policyName));
  on(iotMock, iot.AttachPolicyCommand, () => ({}));
  on(iotMock, iot.DescribeThingCommand, ({ thingName }) => {
    const thing = w.things.get(thingName);
    if (!thing) throw notFound(thingName);
    return { thingName, attributes: thing.attributes };
  });
  on(iotMock, iot.ListAttachedPoliciesCommand, () => ({ policies: [] }));
  on(iotMock, iot.DetachPolicyCommand, () => ({}));
  on(iotMock, iot.UpdateCertificateCommand, () => ({}));
  on(iotMock, iot.DeleteCertificateCommand, ({ certificateId }) => {
    if (!w.certificates.delete(certificateId)) throw notFound(certificateId);
  });
  on(iotMock, iot.ListThingPrincipalsCommand, ({ thingName }) => {
    const thing = w.things.get(thingName);
    if (!thing) throw notFound(thingName);
    return { principals: thing.principals };
  });
  on(iotMock, iot.DetachThingPrincipalCommand, () => ({}));
  on(iotMock, iot.DeleteThingCommand, ({ thingName }) => {
    if (!w.things.delete(thingName)) throw notFound(thingName);
  });
  on(iotMock, iot.ListTargetsForPolicyCommand, ({ policyName }) =>
    w.policies.has(policyName) && w.certificates.has('claimcert')
      ? { targets: [`arn:aws:iot:${REGION}:${ACCOUNT}:cert/claimcert`] }
      : { targets: [] },
  );
  on(iotMock, iot.DeletePolicyCommand, ({ policyName }) => {
    if (!w.policies.delete(policyName)) throw notFound(policyName);
  });
  on(iotMock, iot.ListPoliciesCommand, () => ({ policies: [...w.policies].map((policyName) => ({ policyName })) }));
  on(iotMock, iot.ListThingsCommand, ({ attributeValue }) => ({
    things: [...w.things]
      .filter(([, t]) => t.attributes.verifyRun.startsWith(attributeValue))
      .map(([thingName]) => ({ thingName })),
  }));

  // Lambda
  on(lambdaMock, lambda.GetPolicyCommand, ({ FunctionName }) => {
    const grants = w.grants.get(FunctionName) ?? [];
    if (grants.length === 0) throw notFound(FunctionName);
    const Statement = grants.map((g) => {
      const [account, source] = g.split(' ');
      return {
        Effect: 'Allow',
        Principal: { Service: 'iot.amazonaws.com' },
        Action: 'lambda:InvokeFunction',
        Condition: { StringEquals: { 'AWS:SourceAccount': account }, ArnLike: { 'AWS:SourceArn': source } },
      };
    });
    return { Policy: JSON.stringify({ Statement }) };
  });
  on(lambdaMock, lambda.ListFunctionsCommand, () => ({
    Functions: [...w.functions, 'someone-elses-function'].map((FunctionName) => ({ FunctionName })),
  }));
  on(lambdaMock, lambda.DeleteFunctionCommand, ({ FunctionName }) => w.functions.delete(FunctionName));

  // CloudWatch Logs
  on(logsMock, logs.FilterLogEventsCommand, ({ logGroupName, filterPattern }) => {
    if (logGroupName.startsWith('/aws/lambda/')) {
      const serial = filterPattern.replace(/"/g, '');
      return { events: w.hookLog.filter((l) => l.includes(serial)).map((message) => ({ message })) };
    }
    // The handler's lines as Lambda's JSON log format wraps them (a string in `message`).
    const lambdaJson = (line: object) => ({
      message: JSON.stringify({
        timestamp: '2026-12-04T00:00:00Z',
        level: 'INFO',
        requestId: 'r',
        message: JSON.stringify(line),
      }),
    });
    const lines = [
      lambdaJson({ message: 'UpdateProvisioningTemplate', templateName: 't' }),
      lambdaJson({ message: 'retrying', operation: 'UpdateProvisioningTemplate', error: 'ThrottlingException' }),
    ];
    const term = (filterPattern ?? '').replace(/"/g, '');
    return { events: lines.filter((e) => e.message.includes(term)) };
  });
  on(logsMock, logs.DescribeLogGroupsCommand, ({ logGroupNamePrefix }) => ({
    logGroups: [...w.logGroups]
      .filter((g) => g.startsWith(logGroupNamePrefix))
      .map((logGroupName) => ({ logGroupName })),
  }));
  on(logsMock, logs.DeleteLogGroupCommand, ({ logGroupName }) => w.logGroups.delete(logGroupName));

  // IAM
  on(iamMock, iam.ListRolesCommand, () => ({
    Roles: [...w.roles, 'someone-elses-role'].map((RoleName) => ({ RoleName })),
    IsTruncated: false,
  }));
  on(iamMock, iam.ListRolePoliciesCommand, () => ({ PolicyNames: ['inline'] }));
  on(iamMock, iam.ListAttachedRolePoliciesCommand, () => ({ AttachedPolicies: [] }));
  on(iamMock, iam.DeleteRolePolicyCommand, () => ({}));
  on(iamMock, iam.DetachRolePolicyCommand, () => ({}));
  on(iamMock, iam.DeleteRoleCommand, ({ RoleName }) => w.roles.delete(RoleName));
}
