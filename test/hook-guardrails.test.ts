/**
 * The pre-provisioning hook at synth: the warnings for a hook that cannot
 * answer AWS IoT in time or cannot be invoked (lib/hook-checks.ts), a hook
 * given as an alias or a version, and the order CloudFormation creates and
 * deletes the hook's invoke permission in.
 */
import { App, CfnParameter, Annotations as CoreAnnotations, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ProvisioningHook, ProvisioningTemplateSettings } from '../lib';
import { RESOURCE_TYPE } from '../lib/handler-contract';
import { HOOK_CONCURRENCY_WARNING_ID, HOOK_TIMEOUT_WARNING_ID } from '../lib/hook-checks';

const ENV = { account: '111122223333', region: 'eu-west-1' };

function hookFunction(stack: Stack, props: Partial<lambda.FunctionProps> = {}) {
  return new lambda.Function(stack, 'Hook', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ allowProvisioning: true })'),
    ...props,
  });
}

/** A function with a timeout just over the limit. */
function slow(stack: Stack) {
  return hookFunction(stack, { timeout: Duration.seconds(6) });
}

/** A stack with one construct whose hook is what `hook` returns. */
function withHook(hook: (stack: Stack) => lambda.IFunction) {
  const stack = new Stack(new App(), 'Test', { env: ENV });
  new ProvisioningTemplateSettings(stack, 'Settings', {
    templateName: 'sensor-fleet',
    preProvisioningHook: ProvisioningHook.fromFunction(hook(stack)),
  });
  return { stack, template: Template.fromStack(stack) };
}

/** The warnings with `id`, each with the path it is reported on. */
function warnings(stack: Stack, id: string) {
  return Annotations.fromStack(stack)
    .findWarning('*', Match.stringLikeRegexp(id))
    .map((w) => ({ path: w.id, message: String(w.entry.data) }));
}

describe('a hook function whose timeout is over the 5 seconds AWS IoT waits', () => {
  test('warns on the construct, naming the function, its timeout and what to do, acknowledgeably', () => {
    const { stack } = withHook((s) => hookFunction(s, { timeout: Duration.seconds(30) }));
    expect(warnings(stack, HOOK_TIMEOUT_WARNING_ID)).toEqual([
      {
        path: '/Test/Settings',
        message: expect.stringMatching(
          /^preProvisioningHook Test\/Hook runs on Test\/Hook\/Resource with a timeout of 30 seconds, but AWS IoT waits 5 seconds for a pre-provisioning hook's answer \(AWS IoT Developer Guide, "Pre-provisioning hooks"\): a device whose hook call takes longer fails to register.*Set the function's timeout to 5 seconds or less.*\[ack: cdk-iot-provisioning-template-settings:hookTimeoutTooLong\]$/,
        ),
      },
    ]);
  });

  test.each([
    ['an alias', (s: Stack) => new lambda.Alias(s, 'Live', { aliasName: 'live', version: slow(s).currentVersion })],
    ['a version', (s: Stack) => slow(s).currentVersion],
    ['$LATEST', (s: Stack) => slow(s).latestVersion],
  ])('given as %s: read from the function behind it', (_label, hook) => {
    const { stack } = withHook(hook);
    expect(warnings(stack, HOOK_TIMEOUT_WARNING_ID)).toEqual([
      {
        path: '/Test/Settings',
        message: expect.stringContaining('runs on Test/Hook/Resource with a timeout of 6 seconds'),
      },
    ]);
  });

  test('set on the L1 after the construct was created: still seen (checked at synth)', () => {
    const stack = new Stack(new App(), 'Test', { env: ENV });
    const fn = hookFunction(stack);
    new ProvisioningTemplateSettings(stack, 'Settings', {
      templateName: 'sensor-fleet',
      preProvisioningHook: ProvisioningHook.fromFunction(fn),
    });
    (fn.node.defaultChild as lambda.CfnFunction).timeout = 10;
    expect(warnings(stack, HOOK_TIMEOUT_WARNING_ID)).toEqual([
      { path: '/Test/Settings', message: expect.stringContaining('with a timeout of 10 seconds') },
    ]);
  });

  test('acknowledged on the construct or the stack: no warning', () => {
    for (const where of ['construct', 'stack'] as const) {
      const stack = new Stack(new App(), 'Test', { env: ENV });
      const settings = new ProvisioningTemplateSettings(stack, 'Settings', {
        templateName: 'sensor-fleet',
        preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack, { timeout: Duration.seconds(30) })),
      });
      CoreAnnotations.of(where === 'construct' ? settings : stack).acknowledgeWarning(HOOK_TIMEOUT_WARNING_ID);
      expect({ where, warnings: warnings(stack, HOOK_TIMEOUT_WARNING_ID) }).toEqual({ where, warnings: [] });
    }
  });

  test.each([
    ['the default timeout (3 seconds)', {}],
    ['a timeout of exactly 5 seconds', { timeout: Duration.seconds(5) }],
    ['a timeout of 1 second', { timeout: Duration.seconds(1) }],
  ])('%s: no warning', (_label, props) => {
    const { stack } = withHook((s) => hookFunction(s, props));
    expect(warnings(stack, HOOK_TIMEOUT_WARNING_ID)).toEqual([]);
  });

  test.each([
    [
      'an imported function',
      (s: Stack) => lambda.Function.fromFunctionArn(s, 'Hook', 'arn:aws:lambda:eu-west-1:111122223333:function:hook'),
    ],
    [
      'an imported alias',
      (s: Stack) =>
        lambda.Function.fromFunctionArn(s, 'Hook', 'arn:aws:lambda:eu-west-1:111122223333:function:hook:live'),
    ],
    [
      'a timeout known only at deploy time',
      (s: Stack) => {
        const fn = hookFunction(s);
        (fn.node.defaultChild as lambda.CfnFunction).timeout = new CfnParameter(s, 'Timeout', {
          type: 'Number',
        }).valueAsNumber;
        return fn;
      },
    ],
  ])('%s: nothing to read, no warning', (_label, hook) => {
    const { stack } = withHook(hook);
    expect(warnings(stack, 'hook(TimeoutTooLong|ReservedConcurrencyZero)')).toEqual([]);
  });
});

describe('a hook function whose reserved concurrency is 0: Lambda throttles every call', () => {
  test('warns on the construct, naming the function and what to do', () => {
    const { stack } = withHook((s) => hookFunction(s, { reservedConcurrentExecutions: 0 }));
    expect(warnings(stack, HOOK_CONCURRENCY_WARNING_ID)).toEqual([
      {
        path: '/Test/Settings',
        message: expect.stringMatching(
          /^preProvisioningHook Test\/Hook runs on Test\/Hook\/Resource, whose reservedConcurrentExecutions is 0: Lambda throttles every invocation of it, so AWS IoT cannot call the hook and every device registration with this template fails\. Remove reservedConcurrentExecutions.*\[ack: cdk-iot-provisioning-template-settings:hookReservedConcurrencyZero\]$/,
        ),
      },
    ]);
  });

  test('given as an alias: read from the function behind it', () => {
    const { stack } = withHook((s) => {
      const fn = hookFunction(s, { reservedConcurrentExecutions: 0 });
      return new lambda.Alias(s, 'Live', { aliasName: 'live', version: fn.currentVersion });
    });
    expect(warnings(stack, HOOK_CONCURRENCY_WARNING_ID)).toHaveLength(1);
  });

  test.each([
    ['no reserved concurrency', {}],
    ['a reserved concurrency of 1', { reservedConcurrentExecutions: 1 }],
  ])('%s: no warning', (_label, props) => {
    const { stack } = withHook((s) => hookFunction(s, props));
    expect(warnings(stack, HOOK_CONCURRENCY_WARNING_ID)).toEqual([]);
  });

  test('both problems at once: both warnings', () => {
    const { stack } = withHook((s) =>
      hookFunction(s, { reservedConcurrentExecutions: 0, timeout: Duration.seconds(10) }),
    );
    expect(warnings(stack, 'hook(TimeoutTooLong|ReservedConcurrencyZero)')).toHaveLength(2);
  });
});

describe('a hook given as an alias or a version: the invoke permission names what the template names', () => {
  test.each([
    [
      'an alias',
      (s: Stack) => new lambda.Alias(s, 'Live', { aliasName: 'live', version: hookFunction(s).currentVersion }),
    ],
    ['a version', (s: Stack) => hookFunction(s).currentVersion],
    [
      'an imported qualified ARN',
      (s: Stack) =>
        lambda.Function.fromFunctionArn(s, 'Live', 'arn:aws:lambda:eu-west-1:111122223333:function:hook:live'),
    ],
  ])('%s', (_label, hook) => {
    const { template } = withHook(hook);
    const [resource] = Object.values(template.findResources(RESOURCE_TYPE));
    const targetArn = resource.Properties.PreProvisioningHook.TargetArn;
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
    expect(permissions).toHaveLength(1);
    expect(permissions[0].Properties).toEqual(
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Principal: 'iot.amazonaws.com',
        FunctionName: targetArn,
      }),
    );
    // Qualified: not the unqualified function's ARN, which Lambda would not apply to a call of the alias or version.
    expect(JSON.stringify(targetArn)).not.toMatch(/"Fn::GetAtt":\["Hook[0-9A-F]+","Arn"\]/);
  });

  test('$LATEST (fn.latestVersion) is taken as the function: Lambda takes no permission on $LATEST, and the unqualified ARN invokes it', () => {
    const { template } = withHook((s) => hookFunction(s).latestVersion);
    const [resource] = Object.values(template.findResources(RESOURCE_TYPE));
    const [permission] = Object.values(template.findResources('AWS::Lambda::Permission'));
    const functionArn = { 'Fn::GetAtt': [expect.stringMatching(/^Hook/), 'Arn'] };
    expect(resource.Properties.PreProvisioningHook.TargetArn).toEqual(functionArn);
    expect(permission.Properties.FunctionName).toEqual(functionArn);
  });
});

describe('the invoke permission exists before the template points at the hook, and goes only after the hook is off', () => {
  /** The logical ids of the custom resource and of the hook's invoke permissions, and the template. */
  function ids(hook: (stack: Stack) => lambda.IFunction) {
    const { template } = withHook(hook);
    const resources = template.findResources(RESOURCE_TYPE);
    expect(Object.keys(resources)).toHaveLength(1);
    const [[resourceId, resource]] = Object.entries(resources);
    const permissions = template.findResources('AWS::Lambda::Permission');
    return { template, resourceId, resource, permissionIds: Object.keys(permissions), permissions };
  }

  test.each([
    ['a function', (s: Stack) => hookFunction(s)],
    [
      'an alias',
      (s: Stack) => new lambda.Alias(s, 'Live', { aliasName: 'live', version: hookFunction(s).currentVersion }),
    ],
  ])(
    '%s: the custom resource DependsOn the permission, which depends on nothing of it (CloudFormation creates the permission first and deletes it last)',
    (_label, hook) => {
      const { resourceId, resource, permissionIds, permissions } = ids(hook);
      expect(permissionIds).toHaveLength(1);
      expect(resource.DependsOn).toEqual(expect.arrayContaining(permissionIds));
      // No cycle, and nothing that would make CloudFormation order them the other way.
      for (const permission of Object.values(permissions)) {
        expect(permission.DependsOn ?? []).not.toContain(resourceId);
        expect(JSON.stringify(permission.Properties)).not.toContain(resourceId);
      }
    },
  );

  test('the permission references the hook (alias, version or function), so it is created after it and deleted before it', () => {
    const { template, permissions } = ids(
      (s) => new lambda.Alias(s, 'Live', { aliasName: 'live', version: hookFunction(s).currentVersion }),
    );
    const [aliasId] = Object.keys(template.findResources('AWS::Lambda::Alias'));
    expect(Object.values(permissions)[0].Properties.FunctionName).toEqual({ Ref: aliasId });
  });

  test('every permission of a hook shared past its permission cap: each custom resource depends on all of them', () => {
    const stack = new Stack(new App(), 'Test', { env: ENV });
    const hook = ProvisioningHook.fromFunction(hookFunction(stack));
    for (let i = 0; i < 9; i++) {
      new ProvisioningTemplateSettings(stack, `S${i}`, { templateName: `fleet-${i}`, preProvisioningHook: hook });
    }
    const template = Template.fromStack(stack);
    const permissionIds = Object.keys(template.findResources('AWS::Lambda::Permission'));
    expect(permissionIds.length).toBeGreaterThan(1);
    for (const resource of Object.values(template.findResources(RESOURCE_TYPE))) {
      expect(resource.DependsOn).toEqual(expect.arrayContaining(permissionIds));
    }
  });
});
