import * as crypto from 'crypto';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  App,
  CfnParameter,
  CfnResource,
  NestedStack,
  PropertyInjectors,
  RemovalPolicies,
  RemovalPolicy,
  Stack,
  Tags,
} from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ProvisioningHook, ProvisioningTemplateSettings, ProvisioningTemplateSettingsProps } from '../lib';
import { RESOURCE_TYPE } from '../lib/handler-contract';
import { MAX_HOOK_PERMISSIONS } from '../lib/hook-permissions';
import { HANDLER_ASSET_DIR, HANDLER_HASH_FILE } from '../lib/handler-code';
import { HANDLER_TIMEOUT, MAX_EVENT_AGE, SERVICE_TIMEOUT } from '../lib/provider';

const ENV = { account: '111122223333', region: 'eu-west-1' };
const ARN_TAIL = ':iot:eu-west-1:111122223333:provisioningtemplate/';

/** A template ARN (or `prefix*` pattern) as Stack.formatArn renders it: the partition stays a token. */
function templateArn(name: string | object) {
  return typeof name === 'string'
    ? { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `${ARN_TAIL}${name}`]] }
    : { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ARN_TAIL, name]] };
}

function stackWith(build: (stack: Stack) => void, env: { account?: string; region?: string } | undefined = ENV) {
  const app = new App();
  const stack = new Stack(app, 'Test', { env });
  build(stack);
  return { app, stack, template: Template.fromStack(stack) };
}

function hookFunction(stack: Stack, id = 'Hook') {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ allowProvisioning: true })'),
  });
}

function provisioningRole(stack: Stack, id = 'Role') {
  return new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('iot.amazonaws.com') });
}

/** The custom resource's handler function: the one with the construct's description. */
const HANDLER = { Description: Match.stringLikeRegexp('Custom::IoTProvisioningTemplateSettings') };

describe('custom resource properties', () => {
  test('every prop is passed, scalars as the strings CloudFormation sends', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'Settings', {
        templateName: 'sensor-fleet',
        description: 'Sensors',
        enabled: false,
        defaultVersionId: 2,
        provisioningRole: provisioningRole(stack),
        preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack)),
      });
    });
    template.hasResourceProperties(RESOURCE_TYPE, {
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('Handler'), 'Arn'] },
      TemplateName: 'sensor-fleet',
      Description: 'Sensors',
      Enabled: 'false',
      DefaultVersionId: '2',
      ProvisioningRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Role'), 'Arn'] },
      PreProvisioningHook: {
        TargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Hook'), 'Arn'] },
        PayloadVersion: '2020-04-01',
      },
    });
  });

  test('props left out are not sent', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 'sensor-fleet' });
    });
    template.hasResourceProperties(RESOURCE_TYPE, {
      TemplateName: 'sensor-fleet',
      Description: Match.absent(),
      Enabled: Match.absent(),
      DefaultVersionId: Match.absent(),
      ProvisioningRoleArn: Match.absent(),
      PreProvisioningHook: Match.absent(),
    });
  });

  test.each([
    [undefined, 'Delete', 'Delete', {}],
    [RemovalPolicy.DESTROY, 'Delete', 'Delete', {}],
    // Never deleted, not even in a rollback: the handler must not undo a write a rollback overtook.
    [RemovalPolicy.RETAIN, 'Retain', 'Retain', { Retained: 'true' }],
    // CloudFormation sends only the Delete of a rolled-back Create, which must clean up.
    [RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, 'RetainExceptOnCreate', 'Retain', {}],
  ])(
    'removal policy %s: DeletionPolicy %s, UpdateReplacePolicy %s, and the handler told only of Retain',
    (removalPolicy, deletionPolicy, updateReplacePolicy, told) => {
      const { template } = stackWith((stack) => {
        new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 't1', removalPolicy });
      });
      template.hasResource(RESOURCE_TYPE, {
        Properties: Match.objectEquals({
          ServiceToken: Match.anyValue(),
          ServiceTimeout: '600',
          TemplateName: 't1',
          ...told,
        }),
        DeletionPolicy: deletionPolicy,
        UpdateReplacePolicy: updateReplacePolicy,
      });
    },
  );

  test("a RemovalPolicies aspect overrides the prop: CloudFormation's policies are the only place the removal policy lives", () => {
    // The handler removes our hook on every Delete it gets: with the aspect's DESTROY
    // overriding the prop's RETAIN, CloudFormation sends that Delete.
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'Settings', {
        templateName: 't1',
        preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack)),
        removalPolicy: RemovalPolicy.RETAIN,
      });
      RemovalPolicies.of(stack).destroy();
    });
    template.hasResource(RESOURCE_TYPE, {
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: Match.objectLike({ Retained: Match.absent() }),
    });
  });

  test('a RemovalPolicies aspect that retains tells the handler too (the property is resolved after aspects)', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 't1' });
      RemovalPolicies.of(stack).retain();
    });
    template.hasResource(RESOURCE_TYPE, {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ Retained: 'true' }),
    });
  });

  test('SNAPSHOT is refused', () => {
    expect(() =>
      stackWith((stack) => {
        new ProvisioningTemplateSettings(stack, 'Settings', {
          templateName: 't1',
          removalPolicy: RemovalPolicy.SNAPSHOT,
        });
      }),
    ).toThrow(
      /removalPolicy must be RemovalPolicy.DESTROY, RemovalPolicy.RETAIN or RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE; got RemovalPolicy.SNAPSHOT: a provisioning template has no snapshot/,
    );
  });

  describe('a retained template with a hook: what the hook runs on must be retained too', () => {
    const refused = (detail: string) =>
      new RegExp(
        `removalPolicy keeps the template \\(DeletionPolicy (Retain|RetainExceptOnCreate), UpdateReplacePolicy Retain\\) ` +
          `and with it the preProvisioningHook Test/Hook, but resources the hook may run on would be deleted with the stack: ${detail}`,
      );

    test.each([RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE])(
      '%s with a hook function of this stack: refused, naming what would be deleted',
      (removalPolicy) => {
        const build = () =>
          stackWith((stack) => {
            new ProvisioningTemplateSettings(stack, 'Settings', {
              templateName: 't1',
              preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack)),
              removalPolicy,
            });
          });
        // The handler's own resources are not listed: a hook never runs on them.
        expect(build).toThrow(
          refused(
            'Test/Hook/ServiceRole/Resource, Test/Hook/Resource, Test/IoTProvisioningTemplateSettingsProvider/HookInvokeTestHook[0-9A-F]+/Template0\\.',
          ),
        );
        expect(build).toThrow(/Use RemovalPolicy.DESTROY/);
      },
    );

    test('RETAIN with the hook function and its role retained: still refused, the invoke permission is not', () => {
      expect(() =>
        stackWith((stack) => {
          const fn = hookFunction(stack);
          fn.applyRemovalPolicy(RemovalPolicy.RETAIN);
          (fn.role!.node.defaultChild as CfnResource).applyRemovalPolicy(RemovalPolicy.RETAIN);
          new ProvisioningTemplateSettings(stack, 'Settings', {
            templateName: 't1',
            preProvisioningHook: ProvisioningHook.fromFunction(fn),
            removalPolicy: RemovalPolicy.RETAIN,
          });
        }),
      ).toThrow(refused('.*IoTProvisioningTemplateSettingsProvider/HookInvoke.*/Template0'));
    });

    test('an alias as the hook, only the alias retained: refused, naming the function behind it', () => {
      expect(() =>
        stackWith((stack) => {
          const fn = hookFunction(stack, 'HookFunction');
          const alias = new lambda.Alias(stack, 'Hook', { aliasName: 'live', version: fn.currentVersion });
          RemovalPolicies.of(stack).retain({ excludeResourceTypes: ['AWS::Lambda::Function'] });
          new ProvisioningTemplateSettings(stack, 'Settings', {
            templateName: 't1',
            preProvisioningHook: ProvisioningHook.fromFunction(alias),
            removalPolicy: RemovalPolicy.RETAIN,
          });
        }),
      ).toThrow(refused('Test/HookFunction/Resource\\.'));
    });

    test('the hook in the parent stack, the template in a nested stack: the parent must be retained too', () => {
      const build = (retainParent: boolean) => () => {
        const app = new App();
        const parent = new Stack(app, 'Test', { env: ENV });
        const fn = hookFunction(parent);
        const nested = new NestedStack(parent, 'Nested');
        new ProvisioningTemplateSettings(nested, 'Settings', {
          templateName: 't1',
          preProvisioningHook: ProvisioningHook.fromFunction(fn),
        });
        RemovalPolicies.of(retainParent ? parent : nested).retain();
        app.synth();
      };
      expect(build(false)).toThrow(refused('Test/Hook/ServiceRole/Resource, Test/Hook/Resource'));
      expect(build(true)).not.toThrow();
    });

    test('a whole stack retained (RemovalPolicies aspect): accepted, the permissions and the function are kept too', () => {
      const { template } = stackWith((stack) => {
        new ProvisioningTemplateSettings(stack, 'Settings', {
          templateName: 't1',
          preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack)),
        });
        RemovalPolicies.of(stack).retain();
      });
      template.hasResource(RESOURCE_TYPE, { DeletionPolicy: 'Retain' });
      template.allResources('AWS::Lambda::Permission', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      // Except the handler's policy: a retained old version would stay attached to the role
      // each time the policy is replaced, until the role passed IAM's limit.
      template.allResources('AWS::IAM::Policy', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
      template.hasResource('AWS::Lambda::Function', {
        Properties: Match.objectLike({ Handler: 'index.handler', Code: { ZipFile: Match.anyValue() } }),
        DeletionPolicy: 'Retain',
      });
    });

    test("an imported hook in a retained stack: accepted (its function is not this app's to keep)", () => {
      expect(() =>
        stackWith((stack) => {
          const fn = lambda.Function.fromFunctionArn(
            stack,
            'Hook',
            'arn:aws:lambda:eu-west-1:111122223333:function:hook',
          );
          new ProvisioningTemplateSettings(stack, 'Settings', {
            templateName: 't1',
            preProvisioningHook: ProvisioningHook.fromFunction(fn),
          });
          RemovalPolicies.of(stack).retain();
        }),
      ).not.toThrow();
    });

    test('RETAIN without a hook: accepted (nothing can be left dangling)', () => {
      const { template } = stackWith((stack) => {
        new ProvisioningTemplateSettings(stack, 'Settings', {
          templateName: 't1',
          removalPolicy: RemovalPolicy.RETAIN,
        });
      });
      template.hasResource(RESOURCE_TYPE, { DeletionPolicy: 'Retain' });
    });
  });

  test('a custom payload version is passed through', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'Settings', {
        templateName: 't1',
        preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack), { payloadVersion: '2021-01-01' }),
      });
    });
    template.hasResourceProperties(RESOURCE_TYPE, { PreProvisioningHook: { PayloadVersion: '2021-01-01' } });
  });

  test('serviceTimeout makes a lost answer fail the stack in minutes', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 't1' });
    });
    expect(SERVICE_TIMEOUT.toMinutes()).toBeLessThanOrEqual(15);
    template.hasResourceProperties(RESOURCE_TYPE, { ServiceTimeout: String(SERVICE_TIMEOUT.toSeconds()) });
  });

  test('an event Lambda held too long is dropped: any run of the handler ends before CloudFormation gives up', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 't1' });
    });
    const [[handlerId, handler]] = Object.entries(
      template.findResources('AWS::Lambda::Function', { Properties: HANDLER }),
    );
    expect(handler.Properties.Timeout).toBe(HANDLER_TIMEOUT.toSeconds());
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: handlerId },
      Qualifier: '$LATEST',
      MaximumEventAgeInSeconds: MAX_EVENT_AGE.toSeconds(),
    });
    // Started at the latest MAX_EVENT_AGE after CloudFormation sent it, a run ends before SERVICE_TIMEOUT.
    expect(MAX_EVENT_AGE.toSeconds() + HANDLER_TIMEOUT.toSeconds()).toBeLessThan(SERVICE_TIMEOUT.toSeconds());
  });

  test('attributes: templateArn from the handler, templateName as given', () => {
    const stack = new Stack(new App(), 'Test', { env: ENV });
    const settings = new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 'sensor-fleet' });
    expect(settings.templateName).toBe('sensor-fleet');
    expect(stack.resolve(settings.templateArn)).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^Settings/), 'TemplateArn'],
    });
  });
});

describe('a template created in the same stack', () => {
  function revision(build: (stack: Stack, cfn: iot.CfnProvisioningTemplate) => void, body = '{"Resources":{}}') {
    const { template } = stackWith((stack) => {
      const cfn = new iot.CfnProvisioningTemplate(stack, 'Template', {
        provisioningRoleArn: 'arn:aws:iam::111122223333:role/p',
        templateBody: body,
        templateType: 'FLEET_PROVISIONING',
        enabled: false,
      });
      new ProvisioningTemplateSettings(stack, 'S', { templateName: cfn.ref, enabled: true });
      build(stack, cfn);
    });
    const [resource] = Object.values(template.findResources(RESOURCE_TYPE));
    const revision = resource.Properties.TemplateRevision;
    // The digest, and the role's ARN as CloudFormation resolves it (a replaced role changes it).
    expect(revision).toMatch(/^[0-9a-f]{16}\|arn:aws:iam::111122223333:role\/p$/);
    return JSON.stringify(revision);
  }

  test('the settings carry a digest of the template, so they are applied again after each update of it', () => {
    const first = revision(() => undefined);
    expect(revision(() => undefined)).toBe(first);
    expect(revision(() => undefined, '{"Resources":{"thing":{}}}')).not.toBe(first);
    expect(revision((_stack, cfn) => (cfn.enabled = true))).not.toBe(first);
    expect(revision((_stack, cfn) => cfn.tags.setTag('fleet', 'sensors'))).not.toBe(first);
    expect(revision((stack) => new iam.Role(stack, 'Unrelated', { assumedBy: new iam.AccountRootPrincipal() }))).toBe(
      first,
    );
  });

  test('a role known only at deploy time takes part as CloudFormation resolves it', () => {
    const { template } = stackWith((stack) => {
      const role = provisioningRole(stack);
      const cfn = new iot.CfnProvisioningTemplate(stack, 'Template', {
        provisioningRoleArn: role.roleArn,
        templateBody: '{}',
        templateType: 'FLEET_PROVISIONING',
      });
      new ProvisioningTemplateSettings(stack, 'S', { templateName: cfn.ref });
    });
    template.hasResourceProperties(RESOURCE_TYPE, {
      TemplateRevision: {
        'Fn::Join': [
          '|',
          [Match.stringLikeRegexp('^[0-9a-f]{16}$'), { 'Fn::GetAtt': [Match.stringLikeRegexp('^Role'), 'Arn'] }],
        ],
      },
    });
  });

  test('a template of another stack gets no digest, and nothing of it is exported', () => {
    const app = new App();
    const owner = new Stack(app, 'Owner', { env: ENV });
    const cfn = new iot.CfnProvisioningTemplate(owner, 'Template', {
      provisioningRoleArn: provisioningRole(owner).roleArn,
      templateBody: '{}',
      templateType: 'FLEET_PROVISIONING',
    });
    const user = new Stack(app, 'User', { env: ENV });
    new ProvisioningTemplateSettings(user, 'S', { templateName: cfn.ref });
    Template.fromStack(user).hasResourceProperties(RESOURCE_TYPE, {
      TemplateName: { 'Fn::ImportValue': Match.stringLikeRegexp('^Owner:ExportsOutputRefTemplate') },
      TemplateRevision: Match.absent(),
    });
    // Only the template's name crosses stacks: its role stays free to be replaced.
    expect(Object.keys(Template.fromStack(owner).findOutputs('*'))).toEqual([
      expect.stringMatching(/^ExportsOutputRefTemplate/),
    ]);
  });

  test('a template outside the app gets no digest', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'S', { templateName: 'outside' });
    });
    template.hasResourceProperties(RESOURCE_TYPE, { TemplateRevision: Match.absent() });
  });
});

describe('one handler per stack', () => {
  test('two constructs in one stack share one function, role and policy', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a' });
      new ProvisioningTemplateSettings(stack, 'B', { templateName: 'b' });
    });
    template.resourceCountIs(RESOURCE_TYPE, 2);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.resourceCountIs('AWS::IAM::Role', 1);
    template.resourceCountIs('AWS::IAM::Policy', 1);
  });

  test('each stack gets its own handler', () => {
    const app = new App();
    const one = new Stack(app, 'One', { env: ENV });
    const two = new Stack(app, 'Two', { env: { ...ENV, region: 'eu-central-1' } });
    new ProvisioningTemplateSettings(one, 'A', { templateName: 'a' });
    new ProvisioningTemplateSettings(two, 'A', { templateName: 'a' });
    Template.fromStack(one).resourceCountIs('AWS::Lambda::Function', 1);
    Template.fromStack(two).resourceCountIs('AWS::Lambda::Function', 1);
  });

  test('the handler runs on a current Node.js runtime with the bundled asset', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a' });
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      ...HANDLER,
      Runtime: Match.stringLikeRegexp('^nodejs(2[2-9]|[3-9][0-9])\\.x$'),
      Handler: 'index.handler',
      Timeout: Match.anyValue(),
    });
  });
});

describe('handler asset', () => {
  /** The asset's id: AssetStaging hashes a custom hash (the build's sha256 of the bundle) once more. */
  const stagedHash = () =>
    crypto.createHash('sha256').update(fs.readFileSync(HANDLER_HASH_FILE, 'utf8').trim()).digest('hex');

  test('its build-time hash is the sha256 of the bundle, so a changed handler is always redeployed', () => {
    const bundle = fs.readFileSync(path.join(HANDLER_ASSET_DIR, 'index.js'));
    const expected = crypto.createHash('sha256').update(bundle).digest('hex');
    expect(fs.readFileSync(HANDLER_HASH_FILE, 'utf8').trim()).toBe(expected);
  });

  test('the staged asset is the bundle', () => {
    const { app } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a' });
    });
    const assembly = app.synth();
    const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'Test.assets.json'), 'utf8'));
    const staged = Object.values(manifest.files as Record<string, { source: { path: string } }>).map((f) =>
      path.join(assembly.directory, f.source.path, 'index.js'),
    );
    const handler = staged.filter((p) => fs.existsSync(p));
    expect(handler).toHaveLength(1);
    expect(fs.readFileSync(handler[0])).toEqual(fs.readFileSync(path.join(HANDLER_ASSET_DIR, 'index.js')));
  });

  test('it is uploaded as a zip named after its build-time hash, and the function points at it', () => {
    const { app, template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a' });
    });
    const hash = stagedHash();
    const manifest = JSON.parse(fs.readFileSync(path.join(app.synth().directory, 'Test.assets.json'), 'utf8'));
    expect(manifest.files[hash]).toMatchObject({
      source: { path: `asset.${hash}`, packaging: 'zip' },
      displayName: 'IoTProvisioningTemplateSettingsProvider/Handler/Code',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      ...HANDLER,
      Code: { S3Bucket: Match.anyValue(), S3Key: `${hash}.zip` },
    });
  });

  test('with asset metadata enabled (as the CDK CLI does), the function names its staged bundle for SAM local', () => {
    const hash = stagedHash();
    const handlerMetadata = (context: Record<string, unknown>) => {
      const app = new App({ context });
      const stack = new Stack(app, 'Test', { env: ENV });
      new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a' });
      const handlers = Template.fromStack(stack).findResources('AWS::Lambda::Function', { Properties: HANDLER });
      return Object.values(handlers)[0].Metadata;
    };
    expect(handlerMetadata({ 'aws:cdk:enable-asset-metadata': true })).toEqual({
      'aws:asset:path': `asset.${hash}`,
      'aws:asset:is-bundled': false,
      'aws:asset:property': 'Code',
    });
    expect(handlerMetadata({})).toBeUndefined();
  });

  test('the construct itself loads no region facts (60 to 75 ms of synth, see lib/handler-code.ts)', () => {
    // A fresh Node process with the compiled package (written by `npm run build`). CDK's version
    // reporting is off here, as in `new App()`: under `cdk synth` it loads the facts for its own metadata.
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'region-facts-'));
    const script = `
      const { App, Stack } = require('aws-cdk-lib');
      const { ProvisioningTemplateSettings } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'index.js'))});
      const app = new App({ outdir: ${JSON.stringify(outdir)} });
      new ProvisioningTemplateSettings(new Stack(app, 'Test'), 'A', { templateName: 'a' });
      app.synth();
      const loaded = Object.keys(require.cache);
      console.log(JSON.stringify({
        handler: loaded.some((f) => f.endsWith(${JSON.stringify(path.join('lib', 'handler-code.js'))})),
        regionFacts: loaded.filter((f) => f.includes(${JSON.stringify(path.join('region-info', 'lib'))})),
      }));`;
    try {
      const out = execFileSync(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual({ handler: true, regionFacts: [] });
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('least privilege', () => {
  function policyStatements(template: Template) {
    const policies = template.findResources('AWS::IAM::Policy');
    const [policy] = Object.values(policies);
    return policy.Properties.PolicyDocument.Statement as Array<Record<string, any>>;
  }

  test('IoT actions only on the managed templates, built with formatArn', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'A', { templateName: 'sensor-fleet' });
      new ProvisioningTemplateSettings(stack, 'B', { templateName: 'gateway-fleet' });
    });
    const iotStatement = policyStatements(template).find((s) => String(s.Action).includes('iot:'))!;
    expect(iotStatement.Action).toEqual([
      'iot:DescribeProvisioningTemplate',
      'iot:ListTagsForResource',
      'iot:TagResource',
      'iot:UntagResource',
      'iot:UpdateProvisioningTemplate',
    ]);
    expect(iotStatement.Resource).toEqual([templateArn('gateway-fleet'), templateArn('sensor-fleet')]);
  });

  test('a token template name is scoped with formatArn too', () => {
    const { template } = stackWith((stack) => {
      const cfn = new iot.CfnProvisioningTemplate(stack, 'Template', {
        provisioningRoleArn: 'arn:aws:iam::111122223333:role/p',
        templateBody: '{}',
        templateType: 'FLEET_PROVISIONING',
      });
      new ProvisioningTemplateSettings(stack, 'A', { templateName: cfn.ref });
    });
    const iotStatement = policyStatements(template).find((s) => String(s.Action).includes('iot:'))!;
    expect(iotStatement.Resource).toEqual([templateArn({ Ref: 'Template' })]);
  });

  test('the policy is replaced, not updated, when what it grants changes, so a removed template keeps its permission until its Delete', () => {
    const policyOf = (names: string[]) => {
      const { template } = stackWith((stack) => {
        names.forEach((templateName) => new ProvisioningTemplateSettings(stack, templateName, { templateName }));
      });
      const policies = template.findResources('AWS::IAM::Policy');
      expect(Object.keys(policies)).toHaveLength(1);
      const [[logicalId, policy]] = Object.entries(policies);
      const resources = template.findResources(RESOURCE_TYPE);
      for (const resource of Object.values(resources)) {
        expect(resource.DependsOn).toContain(logicalId);
      }
      return { logicalId, name: policy.Properties.PolicyName as string };
    };
    const both = policyOf(['a', 'b']);
    expect(both.logicalId).toMatch(/^IoTProvisioningTemplateSettingsProviderPolicy[0-9A-F]{8}[0-9A-F]{8}$/);
    expect(both.name).toMatch(/^IoTProvisioningTemplateSettings-[0-9A-F]{8}$/);
    // Same app, same policy: nothing is replaced on a redeploy.
    expect(policyOf(['a', 'b'])).toEqual(both);
    // One template removed: a new policy (new logical id and name) next to the old one until cleanup.
    const one = policyOf(['a']);
    expect(one.logicalId).not.toBe(both.logicalId);
    expect(one.name).not.toBe(both.name);
  });

  test('iam:PassRole only on the given roles, only to AWS IoT', () => {
    const { template } = stackWith((stack) => {
      const role = provisioningRole(stack);
      new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a', provisioningRole: role });
      new ProvisioningTemplateSettings(stack, 'B', { templateName: 'b', provisioningRole: role });
      new ProvisioningTemplateSettings(stack, 'C', {
        templateName: 'c',
        provisioningRole: iam.Role.fromRoleArn(stack, 'Imported', 'arn:aws:iam::111122223333:role/other'),
      });
    });
    const passRole = policyStatements(template).find((s) => s.Action === 'iam:PassRole')!;
    expect(passRole.Resource).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^Role/), 'Arn'] },
      'arn:aws:iam::111122223333:role/other',
    ]);
    expect(passRole.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'iot.amazonaws.com' } });
  });

  test('no PassRole statement when no role is managed', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a' });
    });
    expect(policyStatements(template).some((s) => s.Action === 'iam:PassRole')).toBe(false);
  });

  test('the handler writes only to its own log group', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a' });
    });
    const logsStatement = policyStatements(template).find((s) => String(s.Action).includes('logs:'))!;
    expect(logsStatement.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/Logs/), 'Arn'] });
    template.hasResourceProperties('AWS::Lambda::Function', {
      ...HANDLER,
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('Logs') } },
    });
    // The provider's own role has no managed policies (no AWSLambdaBasicExecutionRole on "*").
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
  });
});

describe('hook invoke permission', () => {
  test('AWS IoT may invoke the hook, for this account and the template', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'A', {
        templateName: 'sensor-fleet',
        preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack)),
      });
    });
    template.resourceCountIs('AWS::Lambda::Permission', 1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Hook'), 'Arn'] },
      Principal: 'iot.amazonaws.com',
      SourceAccount: '111122223333',
      SourceArn: templateArn('sensor-fleet'),
    });
  });

  test("in an environment-agnostic stack too, SourceAccount is the account of SourceArn, as AWS IoT's confused deputy page requires", () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'A', {
        templateName: 'sensor-fleet',
        preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack)),
      });
    }, {});
    template.hasResourceProperties('AWS::Lambda::Permission', {
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':iot:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':provisioningtemplate/sensor-fleet',
          ],
        ],
      },
    });
  });

  test('a hook shared by a few templates gets one exact permission per template', () => {
    const { template } = stackWith((stack) => {
      const hook = ProvisioningHook.fromFunction(hookFunction(stack));
      new ProvisioningTemplateSettings(stack, 'A', { templateName: 'customer-a', preProvisioningHook: hook });
      new ProvisioningTemplateSettings(stack, 'B', { templateName: 'customer-b', preProvisioningHook: hook });
    });
    template.resourceCountIs('AWS::Lambda::Permission', 2);
    template.hasResourceProperties('AWS::Lambda::Permission', { SourceArn: templateArn('customer-a') });
    template.hasResourceProperties('AWS::Lambda::Permission', { SourceArn: templateArn('customer-b') });
  });

  test(`past ${MAX_HOOK_PERMISSIONS} templates, a hook's permissions fold into shared prefixes, with a warning`, () => {
    const { stack, template } = stackWith((s) => {
      const hook = ProvisioningHook.fromFunction(hookFunction(s));
      for (const fleet of ['sensor', 'gateway']) {
        for (let i = 0; i < MAX_HOOK_PERMISSIONS; i++) {
          new ProvisioningTemplateSettings(s, `${fleet}${i}`, {
            templateName: `${fleet}-${i}`,
            preProvisioningHook: hook,
          });
        }
      }
    });
    template.resourceCountIs('AWS::Lambda::Permission', MAX_HOOK_PERMISSIONS);
    const sourceArns = Object.values(template.findResources('AWS::Lambda::Permission')).map(
      (p) => p.Properties.SourceArn,
    );
    // The longest prefix length that fits, the same for every name: 7 characters.
    expect(new Set(sourceArns.map((a) => JSON.stringify(a)))).toEqual(
      new Set([templateArn('gateway*'), templateArn('sensor-*')].map((a) => JSON.stringify(a))),
    );
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp('invoke permissions can name one each.*gateway\\*, sensor-\\*'),
    );
  });

  test('two hook functions get one permission each', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'A', {
        templateName: 'a',
        preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack, 'HookA')),
      });
      new ProvisioningTemplateSettings(stack, 'B', {
        templateName: 'b',
        preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack, 'HookB')),
      });
    });
    template.resourceCountIs('AWS::Lambda::Permission', 2);
    template.hasResourceProperties('AWS::Lambda::Permission', { SourceArn: templateArn('a') });
    template.hasResourceProperties('AWS::Lambda::Permission', { SourceArn: templateArn('b') });
  });
});

describe('resources from other stacks', () => {
  test("a hook function and role from another stack: the permission lives in the construct's stack", () => {
    const app = new App();
    const shared = new Stack(app, 'Shared', { env: ENV });
    const fleet = new Stack(app, 'Fleet', { env: ENV });
    new ProvisioningTemplateSettings(fleet, 'S', {
      templateName: 'sensor-fleet',
      provisioningRole: provisioningRole(shared),
      preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(shared)),
    });
    const template = Template.fromStack(fleet);
    template.resourceCountIs('AWS::Lambda::Permission', 1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::ImportValue': Match.stringLikeRegexp('^Shared:') },
      SourceArn: templateArn('sensor-fleet'),
    });
    Template.fromStack(shared).resourceCountIs('AWS::Lambda::Permission', 0);
    expect(fleet.dependencies).toContain(shared);
  });
});

describe('ordering', () => {
  test('the custom resource depends on its policy and on the hook permission', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'A', {
        templateName: 'a',
        preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack)),
      });
    });
    const [policyId] = Object.keys(template.findResources('AWS::IAM::Policy'));
    const [permissionId] = Object.keys(template.findResources('AWS::Lambda::Permission'));
    const [resource] = Object.values(template.findResources(RESOURCE_TYPE));
    expect(resource.DependsOn).toEqual(expect.arrayContaining([policyId, permissionId]));
  });

  test("every custom resource, with or without a hook, depends on the handler's event invoke config, so its first event already has the maximum event age", () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a' });
      new ProvisioningTemplateSettings(stack, 'B', {
        templateName: 'b',
        preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack)),
      });
    });
    const configs = template.findResources('AWS::Lambda::EventInvokeConfig', {
      Properties: { MaximumEventAgeInSeconds: MAX_EVENT_AGE.toSeconds(), Qualifier: '$LATEST' },
    });
    expect(Object.keys(configs)).toHaveLength(1);
    const resources = Object.values(template.findResources(RESOURCE_TYPE));
    expect(resources).toHaveLength(2);
    for (const resource of resources) {
      expect(resource.DependsOn).toEqual(expect.arrayContaining(Object.keys(configs)));
    }
  });

  test('the handler function depends on its policy, so the policy outlives it when the last template leaves the stack', () => {
    const { template } = stackWith((stack) => {
      new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a' });
    });
    const [policyId] = Object.keys(template.findResources('AWS::IAM::Policy'));
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: HANDLER }));
    expect(fn.DependsOn).toEqual([policyId]);
  });
});

describe("the handler's own resources", () => {
  test("the handler is not changed by property injectors for lambda.Function, which do change the app's own functions", () => {
    const app = new App();
    PropertyInjectors.of(app).add({
      constructUniqueId: lambda.Function.PROPERTY_INJECTION_ID,
      inject: (props: lambda.FunctionProps) => ({ ...props, reservedConcurrentExecutions: 1, memorySize: 4096 }),
    });
    const stack = new Stack(app, 'Test', { env: ENV });
    new ProvisioningTemplateSettings(stack, 'A', {
      templateName: 'a',
      preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack)),
    });
    const template = Template.fromStack(stack);
    // The injector is in force: the app's own hook function got it.
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1, MemorySize: 4096 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      ...HANDLER,
      MemorySize: 256,
      ReservedConcurrentExecutions: Match.absent(),
    });
  });

  test("stack tags reach the handler's log group, function and role", () => {
    const stack = new Stack(new App(), 'Test', { env: ENV });
    new ProvisioningTemplateSettings(stack, 'A', { templateName: 'a' });
    Tags.of(stack).add('team', 'iot-platform');
    const template = Template.fromStack(stack);
    const tagged = { Tags: Match.arrayWith([{ Key: 'team', Value: 'iot-platform' }]) };
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365, ...tagged });
    template.hasResourceProperties('AWS::Lambda::Function', { ...HANDLER, ...tagged });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
      ...tagged,
    });
  });
});

describe('validation at synth time', () => {
  function settings(props: Partial<ProvisioningTemplateSettingsProps>) {
    return () =>
      stackWith((stack) => {
        new ProvisioningTemplateSettings(stack, 'S', { templateName: 'valid', ...props });
      });
  }

  test.each([
    [{ templateName: undefined }, 'templateName must be a string; got nothing.'],
    [{ templateName: 42 }, 'templateName must be a string; got number 42.'],
    [{ enabled: 'yes' }, 'enabled must be a boolean or left out; got string "yes".'],
    [{ defaultVersionId: '3' }, 'defaultVersionId must be a number or left out; got string "3".'],
    [{ description: ['a'] }, 'description must be a string or left out; got object ["a"].'],
  ])('from plain JavaScript, %j is refused: %s', (props, message) => {
    expect(settings(props as unknown as Partial<ProvisioningTemplateSettingsProps>)).toThrow(message);
  });

  test.each([
    ['', /templateName must be 1-36 characters of letters, digits, '_' and '-'; got "" \(0 characters\)/],
    ['has space', /templateName .*got "has space"/],
    ['x'.repeat(37), /templateName .*\(37 characters\)/],
    ['bad/slash', /templateName .*got "bad\/slash"/],
  ])('templateName %j is refused', (templateName, message) => {
    expect(settings({ templateName })).toThrow(message);
  });

  test.each(['a', 'A-b_9', 'x'.repeat(36)])('templateName %j is accepted', (templateName) => {
    expect(settings({ templateName })).not.toThrow();
  });

  test('description over 500 characters is refused, showing its length', () => {
    expect(settings({ description: 'd'.repeat(501) })).toThrow(
      /description must be at most 500 characters; got 501 characters: "ddd/,
    );
    expect(settings({ description: 'd'.repeat(500) })).not.toThrow();
  });

  test('description with a control character is refused, naming it', () => {
    expect(settings({ description: 'line\nbreak' })).toThrow(
      /description must not contain control or other invisible characters \(Unicode category C, .*; found U\+000A at index 4\); got "line\\nbreak"/,
    );
  });

  test.each([
    ['zero-width space', 'zero\u200bwidth', '200B', 4],
    ['byte order mark', '\ufeffbom', 'FEFF', 0],
    ['C1 control (next line)', 'next\u0085line', '0085', 4],
    ['private use', 'private\ue000', 'E000', 7],
    ['private use, astral', 'x\u{F0000}', 'F0000', 1],
  ])('description with a %s is refused like AWS IoT refuses it', (_label, description, codePoint, index) => {
    expect(settings({ description })).toThrow(`found U+${codePoint} at index ${index})`);
  });

  test.each(['Capteurs été 🌡️', '温度センサー', 'tab-free — dashes and “quotes”'])(
    'description %j (printable Unicode) is accepted',
    (description) => {
      expect(settings({ description })).not.toThrow();
    },
  );

  test.each([0, -1, 1.5, Number.NaN])('defaultVersionId %p is refused', (defaultVersionId) => {
    expect(settings({ defaultVersionId })).toThrow(/defaultVersionId must be a positive whole number .*; got /);
  });

  test.each(['2020-4-1', '20200401', 'v2020-04-01', '1'.repeat(33)])(
    'payload version %j is refused',
    (payloadVersion) => {
      expect(() =>
        stackWith((stack) => {
          ProvisioningHook.fromFunction(hookFunction(stack), { payloadVersion });
        }),
      ).toThrow(/payloadVersion must be 10-32 characters of digits and '-' .*; got '/);
    },
  );

  test("too many distinct provisioning roles for IAM's policy limit fail synthesis, saying why", () => {
    const app = new App();
    const stack = new Stack(app, 'Test', { env: ENV });
    for (let i = 0; i < 80; i++) {
      const role = iam.Role.fromRoleArn(
        stack,
        `Role${i}`,
        `arn:aws:iam::111122223333:role/provisioning/${'r'.repeat(100)}-${i}`,
      );
      new ProvisioningTemplateSettings(stack, `S${i}`, { templateName: `t-${i}`, provisioningRole: role });
    }
    expect(() => app.synth()).toThrow(
      /over its 4992-character budget \(half of IAM's 10240-character limit, .*\), because 80 different provisioning roles are passed/,
    );
  });

  test('the same template twice in one stack is refused, naming the other construct', () => {
    expect(() =>
      stackWith((stack) => {
        new ProvisioningTemplateSettings(stack, 'First', { templateName: 'fleet' });
        new ProvisioningTemplateSettings(stack, 'Second', { templateName: 'fleet' });
      }),
    ).toThrow(/templateName "fleet" is already managed by Test\/First in the same account and region/);
  });

  test('the same template in two stacks of one environment is refused', () => {
    const app = new App();
    new ProvisioningTemplateSettings(new Stack(app, 'One', { env: ENV }), 'S', { templateName: 'fleet' });
    new ProvisioningTemplateSettings(new Stack(app, 'Two', { env: ENV }), 'S', { templateName: 'fleet' });
    expect(() => app.synth()).toThrow(/\[Two\/S\] templateName "fleet" is already managed by One\/S/);
  });

  test("the same template twice is reported at synth in the app's one validation report, with the other problems, not thrown at construct time", () => {
    const app = new App();
    const stack = new Stack(app, 'Test', { env: ENV });
    new ProvisioningTemplateSettings(stack, 'First', { templateName: 'fleet' });
    expect(
      () => new ProvisioningTemplateSettings(stack, 'Second', { templateName: 'fleet', defaultVersionId: 0 }),
    ).not.toThrow();
    new ProvisioningTemplateSettings(stack, 'Third', { templateName: 'bad name' });
    let message = '';
    try {
      app.synth();
    } catch (e) {
      message = String(e);
    }
    expect(message).toMatch(/\[Test\/Second\] templateName "fleet" is already managed by Test\/First/);
    expect(message).toMatch(/\[Test\/Second\] defaultVersionId must be a positive whole number/);
    expect(message).toMatch(/\[Test\/Third\] templateName must be 1-36 characters/);
  });

  test('the same template twice in one environment-agnostic stack is refused', () => {
    expect(() =>
      stackWith((stack) => {
        new ProvisioningTemplateSettings(stack, 'First', { templateName: 'fleet' });
        new ProvisioningTemplateSettings(stack, 'Second', { templateName: 'fleet' });
      }, undefined),
    ).toThrow(/already managed by Test\/First/);
  });

  test('the same template in a stack and its nested stack (one deployment, one environment) is refused', () => {
    expect(() =>
      stackWith((stack) => {
        new ProvisioningTemplateSettings(stack, 'First', { templateName: 'fleet' });
        new ProvisioningTemplateSettings(new NestedStack(stack, 'Nested'), 'Second', { templateName: 'fleet' });
      }, undefined),
    ).toThrow(/already managed by Test\/First/);
  });

  test.each([
    ['both environment-agnostic', undefined, undefined],
    ['one environment-agnostic', ENV, undefined],
    ['same account, region unknown', ENV, { account: ENV.account }],
  ])(
    'the same template in two stacks whose environments may be one (%s): a warning, not an error',
    (_label, envOne, envTwo) => {
      const app = new App();
      const one = new Stack(app, 'Dev', { env: envOne });
      const two = new Stack(app, 'Prod', { env: envTwo });
      new ProvisioningTemplateSettings(one, 'S', { templateName: 'fleet' });
      new ProvisioningTemplateSettings(two, 'S', { templateName: 'fleet' });
      const warnings = Annotations.fromStack(two)
        .findWarning('*', Match.anyValue())
        .map((w) => String(w.entry.data));
      expect(warnings).toEqual([
        expect.stringMatching(
          /templateName "fleet" is also managed by Dev\/S: if stacks Dev and Prod deploy to the same account and region, the two would overwrite each other\. Give the stacks an explicit env .*\[ack: cdk-iot-provisioning-template-settings:templateMaybeManagedTwice\]/,
        ),
      ]);
      expect(Annotations.fromStack(one).findWarning('*', Match.anyValue())).toEqual([]);
    },
  );

  test('the same template name in another region or account is fine', () => {
    const app = new App();
    new ProvisioningTemplateSettings(new Stack(app, 'One', { env: ENV }), 'S', { templateName: 'fleet' });
    expect(
      () =>
        new ProvisioningTemplateSettings(new Stack(app, 'Two', { env: { ...ENV, region: 'us-east-1' } }), 'S', {
          templateName: 'fleet',
        }),
    ).not.toThrow();
    expect(
      () =>
        new ProvisioningTemplateSettings(new Stack(app, 'Three', { env: { ...ENV, account: '444455556666' } }), 'S', {
          templateName: 'fleet',
        }),
    ).not.toThrow();
  });

  test('tokens are accepted without validation', () => {
    const { template } = stackWith((stack) => {
      const cfn = new iot.CfnProvisioningTemplate(stack, 'Template', {
        provisioningRoleArn: 'arn:aws:iam::111122223333:role/p',
        templateBody: '{}',
        templateType: 'FLEET_PROVISIONING',
      });
      const version = new CfnParameter(stack, 'Version', { type: 'Number' });
      const hookVersion = new CfnParameter(stack, 'PayloadVersion');
      new ProvisioningTemplateSettings(stack, 'S', {
        templateName: cfn.ref,
        description: cfn.attrTemplateArn,
        defaultVersionId: version.valueAsNumber,
        preProvisioningHook: ProvisioningHook.fromFunction(hookFunction(stack), {
          payloadVersion: hookVersion.valueAsString,
        }),
      });
    });
    template.hasResourceProperties(RESOURCE_TYPE, {
      TemplateName: { Ref: 'Template' },
      Description: { 'Fn::GetAtt': ['Template', 'TemplateArn'] },
      DefaultVersionId: { Ref: 'Version' },
      PreProvisioningHook: { PayloadVersion: { Ref: 'PayloadVersion' } },
    });
  });
});

describe('every invalid prop in one run', () => {
  function settings(props: Partial<ProvisioningTemplateSettingsProps>) {
    return () =>
      stackWith((stack) => {
        new ProvisioningTemplateSettings(stack, 'S', { templateName: 'valid', ...props });
      });
  }

  test("two bad props in one construct: both reported by one synth, each under the construct's path with its value and what is allowed", () => {
    const build = () =>
      stackWith((stack) => {
        new ProvisioningTemplateSettings(stack, 'S', { templateName: 'has space', defaultVersionId: 0 });
      });
    expect(build).toThrow(/^Validation failed with the following errors:/);
    expect(build).toThrow(
      /\[Test\/S\] templateName must be 1-36 characters of letters, digits, '_' and '-'; got "has space" \(9 characters\)\./,
    );
    expect(build).toThrow(
      /\[Test\/S\] defaultVersionId must be a positive whole number \(a version ID of the template, such as 1 or 2\); got 0\./,
    );
  });

  test('the construct itself is built, so one synth also reports the other constructs of the app', () => {
    const app = new App();
    const one = new Stack(app, 'One', { env: ENV });
    const two = new Stack(app, 'Two', { env: { ...ENV, region: 'us-east-1' } });
    // Nothing is thrown before synth: every problem waits for it.
    new ProvisioningTemplateSettings(one, 'A', { templateName: 'a/b', description: 'd'.repeat(501) });
    new ProvisioningTemplateSettings(two, 'B', { templateName: 'b', removalPolicy: RemovalPolicy.SNAPSHOT });
    let message = '';
    try {
      app.synth();
    } catch (e) {
      message = (e as Error).message;
    }
    const lines = message.split('\n').slice(1);
    expect(lines).toEqual([
      expect.stringMatching(/^ {2}\[One\/A\] templateName must be .*; got "a\/b" \(3 characters\)\.$/),
      expect.stringMatching(/^ {2}\[One\/A\] description must be at most 500 characters; got 501 characters: "ddd/),
      expect.stringMatching(
        /^ {2}\[Two\/B\] removalPolicy must be RemovalPolicy.DESTROY, .*; got RemovalPolicy.SNAPSHOT/,
      ),
    ]);
  });

  test('a description both too long and with an invisible character: both said', () => {
    expect(settings({ description: `${'d'.repeat(500)}\t` })).toThrow(/description must be at most 500 characters/);
    expect(settings({ description: `${'d'.repeat(500)}\t` })).toThrow(
      /\[Test\/S\] description must not contain control .*found U\+0009 at index 500\); got "d{60}"\.\.\./,
    );
  });

  test('a wrong type from plain JavaScript stops the construct at once, with its path and its other problems too', () => {
    const props = { templateName: 42, description: 'd'.repeat(501), enabled: 'yes' };
    const build = () =>
      new ProvisioningTemplateSettings(
        new Stack(new App(), 'Test', { env: ENV }),
        'S',
        props as unknown as ProvisioningTemplateSettingsProps,
      );
    expect(build).toThrow(/\[Test\/S\] templateName must be a string; got number 42\./);
    expect(build).toThrow(/\[Test\/S\] enabled must be a boolean or left out; got string "yes"\./);
    expect(build).toThrow(/\[Test\/S\] description must be at most 500 characters; got 501 characters/);
  });
});

describe("the hook function's account", () => {
  const OTHER_ACCOUNT = '444455556666';
  const importedHook = (stack: Stack, account: string) =>
    lambda.Function.fromFunctionArn(stack, 'Hook', `arn:aws:lambda:eu-west-1:${account}:function:hook`);
  const accountWarnings = (stack: Stack) =>
    Annotations.fromStack(stack)
      .findWarning('*', Match.stringLikeRegexp('hookAccountUnknown'))
      .map((w) => String(w.entry.data));

  test('another account than the stack, both known: an error naming both, at synth', () => {
    expect(() =>
      stackWith((stack) => {
        new ProvisioningTemplateSettings(stack, 'S', {
          templateName: 't1',
          preProvisioningHook: ProvisioningHook.fromFunction(importedHook(stack, OTHER_ACCOUNT)),
        });
      }),
    ).toThrow(
      /\[Test\/S\] preProvisioningHook must be a function in the stack's account 111122223333; got Test\/Hook in account 444455556666\. AWS IoT invokes a pre-provisioning hook only in the template's own account/,
    );
  });

  test('the same account: no error and no warning', () => {
    const { stack } = stackWith((s) => {
      new ProvisioningTemplateSettings(s, 'S', {
        templateName: 't1',
        preProvisioningHook: ProvisioningHook.fromFunction(importedHook(s, ENV.account)),
      });
    });
    expect(accountWarnings(stack)).toEqual([]);
  });

  test.each([
    ['a function of the same stack', (s: Stack) => hookFunction(s)],
    ['a function imported by name', (s: Stack) => lambda.Function.fromFunctionName(s, 'Hook', 'hook')],
  ])('an environment-agnostic stack with %s: the same account whatever it is, no warning', (_label, fn) => {
    const { stack } = stackWith((s) => {
      new ProvisioningTemplateSettings(s, 'S', {
        templateName: 't1',
        preProvisioningHook: ProvisioningHook.fromFunction(fn(s)),
      });
    }, {});
    expect(accountWarnings(stack)).toEqual([]);
  });

  test('an environment-agnostic stack and a function of a known account: a warning, as they may differ', () => {
    const { stack } = stackWith((s) => {
      new ProvisioningTemplateSettings(s, 'S', {
        templateName: 't1',
        preProvisioningHook: ProvisioningHook.fromFunction(importedHook(s, OTHER_ACCOUNT)),
      });
    }, {});
    expect(accountWarnings(stack)).toEqual([
      expect.stringMatching(
        /^preProvisioningHook Test\/Hook is in account 444455556666 and stack Test deploys to an account known only at deploy time: whether they are the same is not known at synth\. AWS IoT invokes a pre-provisioning hook only in the template's own account.*Give the stack an explicit env .*\[ack: cdk-iot-provisioning-template-settings:hookAccountUnknown\]$/,
      ),
    ]);
  });

  test('a function whose ARN is known only at deploy time, in a stack of a known account: a warning', () => {
    const { stack } = stackWith((s) => {
      const arn = new CfnParameter(s, 'HookArn');
      new ProvisioningTemplateSettings(s, 'S', {
        templateName: 't1',
        preProvisioningHook: ProvisioningHook.fromFunction(
          lambda.Function.fromFunctionArn(s, 'Hook', arn.valueAsString),
        ),
      });
    });
    expect(accountWarnings(stack)).toEqual([
      expect.stringMatching(
        /^preProvisioningHook Test\/Hook is in an account known only at deploy time and stack Test deploys to account 111122223333/,
      ),
    ]);
  });
});

describe('defaultVersionId with a template of the same stack', () => {
  const pinWarnings = (stack: Stack) =>
    Annotations.fromStack(stack)
      .findWarning('*', Match.stringLikeRegexp('defaultVersionPinned'))
      .map((w) => String(w.entry.data));
  const template = (stack: Stack) =>
    new iot.CfnProvisioningTemplate(stack, 'Template', {
      provisioningRoleArn: 'arn:aws:iam::111122223333:role/p',
      templateBody: '{}',
      templateType: 'FLEET_PROVISIONING',
    });

  test('a warning: a change to the body makes a new default version, which the pin reverts', () => {
    const { stack } = stackWith((s) => {
      new ProvisioningTemplateSettings(s, 'S', { templateName: template(s).ref, defaultVersionId: 2 });
    });
    expect(pinWarnings(stack)).toEqual([
      expect.stringMatching(
        /^defaultVersionId pins the default version of Test\/Template, a template of this stack: a change to its templateBody makes AWS IoT create a new version and set it as the default, and this construct then sets version 2 back as the default .*Leave defaultVersionId out to provision with the latest body.*\[ack: cdk-iot-provisioning-template-settings:defaultVersionPinned\]$/,
      ),
    ]);
  });

  test('a pin known only at deploy time: the same warning', () => {
    const { stack } = stackWith((s) => {
      const version = new CfnParameter(s, 'Version', { type: 'Number' });
      new ProvisioningTemplateSettings(s, 'S', {
        templateName: template(s).ref,
        defaultVersionId: version.valueAsNumber,
      });
    });
    expect(pinWarnings(stack)).toEqual([expect.stringContaining('sets the pinned version back as the default')]);
  });

  test('no warning without a pin, for a template outside the app, or for a template of another stack', () => {
    const app = new App();
    const other = new Stack(app, 'Other', { env: ENV });
    const stack = new Stack(app, 'Test', { env: ENV });
    const elsewhere = template(other);
    new ProvisioningTemplateSettings(stack, 'Unpinned', { templateName: template(stack).ref });
    new ProvisioningTemplateSettings(stack, 'Outside', { templateName: 'existing', defaultVersionId: 2 });
    new ProvisioningTemplateSettings(stack, 'Elsewhere', { templateName: elsewhere.ref, defaultVersionId: 2 });
    expect(pinWarnings(stack)).toEqual([]);
  });
});
