/**
 * Every permission the construct creates, read from the synthesized template:
 * the handler role's trust policy and inline policy, and the Lambda
 * permissions that let AWS IoT invoke the pre-provisioning hooks.
 *
 * No '*' action anywhere, and no '*' resource except the documented ones:
 *
 * - The template patterns of a policy widened to fit IAM's 10,240-character
 *   inline policy limit (SettingsProvider.scopedTemplates). The construct warns
 *   when this happens, and cdk-nag reports it (see nag.test.ts).
 * - The template patterns of a hook's invoke permissions once more than
 *   MAX_HOOK_PERMISSIONS templates share one hook function: each permission is
 *   a statement in the function's resource policy, which Lambda caps at 20 KB
 *   (SettingsProvider.scopedHookTemplates). The construct warns then too.
 * - The Deny that keeps the handler's iot:TagResource and iot:UntagResource to
 *   tag keys of its own (`aws:TagKeys`): it takes permissions away, on any
 *   resource, and grants none.
 * - The handler's own log group, referenced as `Fn::GetAtt [LogGroup, Arn]`.
 *   CloudFormation's Arn attribute of AWS::Logs::LogGroup is
 *   `arn:<partition>:logs:<region>:<account>:log-group:<name>:*`: the trailing
 *   `:*` is the log streams of that one group, which logs:PutLogEvents acts on.
 *   The group is created by the construct, so the wildcard cannot reach any
 *   other group. The template holds the GetAtt, not a literal '*', and this
 *   test checks that it points at the construct's own log group.
 */
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';
import { ProvisioningHook, ProvisioningTemplateSettings, ProvisioningTemplateSettingsProps } from '../lib';
import { FleetProvisioningStack } from '../bin/example';
import { HOOK_WIDENED_WARNING_ID, MAX_HOOK_PERMISSIONS } from '../lib/hook-permissions';
import { SettingsProvider, WIDENED_WARNING_ID } from '../lib/provider';

const ENV = { account: '111122223333', region: 'eu-west-1' };
const ALLOWED_ACTIONS = [
  'cloudformation:DescribeStackResource',
  'cloudformation:DescribeStacks',
  // Only with a drift check (lambda/drift.ts), on the handler's own stack.
  'cloudformation:ListStackResources',
  'iam:PassRole',
  'iot:DescribeProvisioningTemplate',
  'iot:ListTagsForResource',
  'iot:TagResource',
  'iot:UntagResource',
  'iot:UpdateProvisioningTemplate',
  'logs:CreateLogStream',
  'logs:PutLogEvents',
];

/** The handler's IoT actions on its templates, in the policy's order. */
const TEMPLATE_ACTIONS = [
  'iot:DescribeProvisioningTemplate',
  'iot:ListTagsForResource',
  'iot:TagResource',
  'iot:UntagResource',
  'iot:UpdateProvisioningTemplate',
];

/** The one Deny of the handler's policy: tagging only with the handler's own tag keys. */
const TAG_GUARD = {
  Sid: 'TagOnlyOwnKeys',
  Effect: 'Deny',
  Action: ['iot:TagResource', 'iot:UntagResource'],
  Resource: '*',
  Condition: { 'ForAnyValue:StringNotLike': { 'aws:TagKeys': 'iot-provisioning-template-settings:*' } },
};

interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly NotAction?: unknown;
  readonly NotResource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, any>;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function allConstructs(root: IConstruct): IConstruct[] {
  return [root, ...root.node.children.flatMap(allConstructs)];
}

/**
 * The literal text of a CloudFormation value, with every reference written as
 * `<ref>`, so that a '*' in it can only come from a literal.
 */
function literal(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(literal).join(',');
  if (value && typeof value === 'object') {
    const [key, arg] = Object.entries(value)[0];
    if (key === 'Fn::Join') {
      const [sep, parts] = arg as [string, unknown[]];
      return parts.map(literal).join(sep);
    }
    return `<${key}>`;
  }
  return String(value);
}

/** What the construct creates in `stack`: its resources, by logical id, and the IAM statements among them. */
function synthesize(stack: Stack) {
  const template = Template.fromStack(stack).toJSON();
  const provider = SettingsProvider.of(stack);
  const ours = new Map<string, Resource>();
  const oursConstructs = [provider, ...stack.node.children.filter((c) => c instanceof ProvisioningTemplateSettings)];
  for (const c of oursConstructs.flatMap(allConstructs)) {
    if (CfnResource.isCfnResource(c)) {
      const id = stack.resolve(c.logicalId) as string;
      ours.set(id, template.Resources[id]);
    }
  }
  const logicalId = (c: IConstruct) => stack.resolve(((c.node.defaultChild ?? c) as CfnResource).logicalId) as string;
  const idOf = {
    role: logicalId(provider.role),
    function: logicalId(provider.function),
    logGroup: logicalId(provider.node.findChild('Logs')),
    policy: stack.resolve(provider.policy.logicalId) as string,
  };
  const byType = (type: string) => [...ours.entries()].filter(([, r]) => r.Type === type);
  const statements: Statement[] = [
    ...byType('AWS::IAM::Policy').flatMap(([, r]) => r.Properties.PolicyDocument.Statement as Statement[]),
    ...byType('AWS::IAM::ManagedPolicy').flatMap(([, r]) => r.Properties.PolicyDocument.Statement as Statement[]),
    ...byType('AWS::IAM::Role').flatMap(([, r]) =>
      (r.Properties.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement as Statement[]),
    ),
  ];
  return { template, provider, ours, idOf, byType, statements, stack };
}

type Synth = ReturnType<typeof synthesize>;

function newStack(): Stack {
  return new Stack(new App(), 'Test', { env: ENV });
}

function importedHook(stack: Stack, name = 'device-check') {
  return lambda.Function.fromFunctionArn(
    stack,
    `Hook-${name}`,
    `arn:aws:lambda:eu-west-1:111122223333:function:${name}`,
  );
}

function importedRole(stack: Stack, name = 'fleet-provisioning') {
  return iam.Role.fromRoleArn(stack, `Role-${name}`, `arn:aws:iam::111122223333:role/${name}`, { mutable: false });
}

function everyProp(
  stack: Stack,
  id: string,
  templateName: string,
  extra: Partial<ProvisioningTemplateSettingsProps> = {},
) {
  return new ProvisioningTemplateSettings(stack, id, {
    templateName,
    description: 'Sensors',
    enabled: true,
    defaultVersionId: 2,
    provisioningRole: importedRole(stack),
    preProvisioningHook: ProvisioningHook.fromFunction(importedHook(stack)),
    ...extra,
  });
}

/** Wildcard template patterns a stack may hold: of the widened policy, and of each widened hook (by function ARN as written). */
interface Widening {
  readonly policy?: readonly string[];
  readonly hooks?: Record<string, readonly string[]>;
}

/** The checks every stack must pass, whatever its props. */
function expectLeastPrivilege(s: Synth, widening: Widening = {}) {
  const { ours, idOf, byType, statements } = s;

  // The construct creates exactly these kinds of resources: no user, group,
  // managed policy, function URL or other principal-bearing resource.
  const types = new Set([...ours.values()].map((r) => r.Type));
  expect([...types].sort()).toEqual(
    expect.arrayContaining(['AWS::IAM::Policy', 'AWS::IAM::Role', 'AWS::Lambda::Function', 'AWS::Logs::LogGroup']),
  );
  for (const type of types) {
    expect([
      // The drift check's schedule, with a drift check only: no principal of its own.
      'AWS::Events::Rule',
      'AWS::IAM::Policy',
      'AWS::IAM::Role',
      'AWS::Lambda::EventInvokeConfig',
      'AWS::Lambda::Function',
      'AWS::Lambda::Permission',
      'AWS::Logs::LogGroup',
      'Custom::IoTProvisioningTemplateSettings',
    ]).toContain(type);
  }

  // One role, assumable by Lambda only, with no managed or inline policies of its own.
  const roles = byType('AWS::IAM::Role');
  expect(roles.map(([id]) => id)).toEqual([idOf.role]);
  const role = roles[0][1].Properties;
  expect(role.ManagedPolicyArns).toBeUndefined();
  expect(role.Policies).toBeUndefined();
  expect(role.PermissionsBoundary).toBeUndefined();
  expect(role.AssumeRolePolicyDocument.Statement).toEqual([
    { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
  ]);

  // One inline policy, on that role only.
  const policies = byType('AWS::IAM::Policy');
  expect(policies.map(([id]) => id)).toEqual([idOf.policy]);
  expect(policies[0][1].Properties.Roles).toEqual([{ Ref: idOf.role }]);

  expect(statements.length).toBeGreaterThan(0);
  // One Deny, exactly the tag guard: it takes away, so its '*' grants nothing.
  expect(statements.filter((st) => st.Effect !== 'Allow')).toEqual([TAG_GUARD]);
  for (const st of statements.filter((x) => x.Effect !== 'Deny')) {
    expect(st.Effect).toBe('Allow');
    expect(st.NotAction).toBeUndefined();
    expect(st.NotResource).toBeUndefined();
    expect(st.Principal).toBeUndefined();
    for (const action of list(st.Action)) {
      expect(action).not.toContain('*');
      expect(ALLOWED_ACTIONS).toContain(action);
    }
    expect(list(st.Resource).length).toBeGreaterThan(0);
    for (const resource of list(st.Resource)) {
      if (st.Sid === 'WriteOwnLogs') {
        // The log-stream wildcard of the construct's own log group (see above), and nothing else.
        expect(resource).toEqual({ 'Fn::GetAtt': [idOf.logGroup, 'Arn'] });
        continue;
      }
      const text = literal(resource);
      if (text.includes('*')) {
        expect(list(st.Action)).toEqual(TEMPLATE_ACTIONS);
        const pattern = text.replace(/^arn:<Ref>:iot:eu-west-1:111122223333:provisioningtemplate\//, '');
        expect(widening.policy ?? []).toContain(pattern);
      }
    }
  }

  // The log statement really is the handler's log group, the one the function logs to.
  expect(ours.get(idOf.logGroup)!.Type).toBe('AWS::Logs::LogGroup');
  expect(ours.get(idOf.function)!.Properties.LoggingConfig.LogGroup).toEqual({ Ref: idOf.logGroup });

  // iam:PassRole, if present, only for AWS IoT.
  for (const st of statements.filter((x) => list(x.Action).includes('iam:PassRole'))) {
    expect(list(st.Action)).toEqual(['iam:PassRole']);
    expect(st.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'iot.amazonaws.com' } });
  }

  // Lambda permissions: AWS IoT may invoke the hook, for this account's templates only; and
  // EventBridge the handler, from the drift check's own rule only.
  for (const [, perm] of byType('AWS::Lambda::Permission')) {
    const p = perm.Properties;
    expect(p.Action).toBe('lambda:InvokeFunction');
    expect(p.SourceAccount).toBe(ENV.account);
    if (p.Principal === 'events.amazonaws.com') {
      expect(p.FunctionName).toEqual({ 'Fn::GetAtt': [idOf.function, 'Arn'] });
      expect(p.SourceArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/DriftCheckRule/), 'Arn'] });
      continue;
    }
    expect(p.Principal).toBe('iot.amazonaws.com');
    expect(p.PrincipalOrgID).toBeUndefined();
    expect(p.FunctionUrlAuthType).toBeUndefined();
    const source = literal(p.SourceArn);
    expect(source).toMatch(/^arn:<Ref>:iot:eu-west-1:111122223333:provisioningtemplate\/[^/]+$/);
    if (source.includes('*')) {
      expect(widening.hooks?.[literal(p.FunctionName)] ?? []).toContain(
        source.replace(/^.*provisioningtemplate\//, ''),
      );
    }
  }
}

function passRoleResources(s: Synth): unknown[] {
  return s.statements.filter((st) => list(st.Action).includes('iam:PassRole')).flatMap((st) => list(st.Resource));
}

function templateResources(s: Synth): string[] {
  return s.statements
    .filter((st) => list(st.Action).includes('iot:UpdateProvisioningTemplate'))
    .flatMap((st) => list(st.Resource))
    .map(literal);
}

describe('the permissions the construct creates', () => {
  test('every prop set: exact template ARN, PassRole on the given role for iot.amazonaws.com, invoke permission for the hook', () => {
    const stack = newStack();
    everyProp(stack, 'Settings', 'sensor-fleet');
    const s = synthesize(stack);
    expectLeastPrivilege(s);

    expect(s.statements.map((st) => st.Sid).sort()).toEqual([
      'ManageProvisioningTemplates',
      'PassProvisioningRoles',
      'ReadOwnStack',
      'TagOnlyOwnKeys',
      'WriteOwnLogs',
    ]);
    // Every IoT action on the managed template's ARN; tagging only with the handler's own keys.
    expect(s.statements.find((st) => st.Sid === 'ManageProvisioningTemplates')?.Action).toEqual(TEMPLATE_ACTIONS);
    expect(s.statements.find((st) => st.Sid === 'TagOnlyOwnKeys')).toEqual(TAG_GUARD);
    expect(templateResources(s)).toEqual(['arn:<Ref>:iot:eu-west-1:111122223333:provisioningtemplate/sensor-fleet']);
    expect(passRoleResources(s)).toEqual(['arn:aws:iam::111122223333:role/fleet-provisioning']);
    // The handler may ask CloudFormation about its own stack, and no other.
    expect(s.statements.find((st) => st.Sid === 'ReadOwnStack')).toEqual({
      Sid: 'ReadOwnStack',
      Effect: 'Allow',
      Action: ['cloudformation:DescribeStackResource', 'cloudformation:DescribeStacks'],
      Resource: { Ref: 'AWS::StackId' },
    });

    const perms = s.byType('AWS::Lambda::Permission');
    expect(perms).toHaveLength(1);
    expect(perms[0][1].Properties.FunctionName).toBe('arn:aws:lambda:eu-west-1:111122223333:function:device-check');
    expect(literal(perms[0][1].Properties.SourceArn)).toBe(
      'arn:<Ref>:iot:eu-west-1:111122223333:provisioningtemplate/sensor-fleet',
    );
  });

  test('no role and no hook: no iam:PassRole and no Lambda permission at all', () => {
    const stack = newStack();
    new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 'sensor-fleet', enabled: false });
    const s = synthesize(stack);
    expectLeastPrivilege(s);
    expect(
      s.statements
        .filter((st) => st.Effect === 'Allow')
        .flatMap((st) => list(st.Action))
        .sort(),
    ).toEqual([
      'cloudformation:DescribeStackResource',
      'cloudformation:DescribeStacks',
      ...TEMPLATE_ACTIONS,
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    expect(s.byType('AWS::Lambda::Permission')).toEqual([]);
  });

  test('PassRole lists exactly the roles given, each once, and nothing else', () => {
    const stack = newStack();
    const shared = importedRole(stack, 'shared');
    const own = new iam.Role(stack, 'OwnRole', { assumedBy: new iam.ServicePrincipal('iot.amazonaws.com') });
    new ProvisioningTemplateSettings(stack, 'A', { templateName: 'fleet-a', provisioningRole: shared });
    new ProvisioningTemplateSettings(stack, 'B', { templateName: 'fleet-b', provisioningRole: shared });
    new ProvisioningTemplateSettings(stack, 'C', { templateName: 'fleet-c', provisioningRole: own });
    new ProvisioningTemplateSettings(stack, 'D', { templateName: 'fleet-d' });
    const s = synthesize(stack);
    expectLeastPrivilege(s);
    expect(passRoleResources(s)).toEqual([
      'arn:aws:iam::111122223333:role/shared',
      { 'Fn::GetAtt': [stack.resolve((own.node.defaultChild as CfnResource).logicalId), 'Arn'] },
    ]);
    expect(templateResources(s).sort()).toEqual(
      ['fleet-a', 'fleet-b', 'fleet-c', 'fleet-d'].map(
        (n) => `arn:<Ref>:iot:eu-west-1:111122223333:provisioningtemplate/${n}`,
      ),
    );
  });

  test("the construct leaves the user's own roles and functions untouched", () => {
    const userResources = (withConstruct: boolean) => {
      const stack = newStack();
      const hook = new lambda.Function(stack, 'Hook', {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => ({ allowProvisioning: true })'),
      });
      const role = new iam.Role(stack, 'ProvisioningRole', {
        assumedBy: new iam.ServicePrincipal('iot.amazonaws.com'),
      });
      if (withConstruct) {
        new ProvisioningTemplateSettings(stack, 'Settings', {
          templateName: 'sensor-fleet',
          provisioningRole: role,
          preProvisioningHook: ProvisioningHook.fromFunction(hook),
        });
        const s = synthesize(stack);
        expectLeastPrivilege(s);
        return Object.fromEntries(Object.entries(s.template.Resources).filter(([id]) => !s.ours.has(id)));
      }
      return Template.fromStack(stack).toJSON().Resources;
    };
    expect(userResources(true)).toEqual(userResources(false));
  });

  test('one invoke permission per hook function, scoped to the templates that use it', () => {
    const stack = newStack();
    const hookA = importedHook(stack, 'hook-a');
    const hookB = importedHook(stack, 'hook-b');
    new ProvisioningTemplateSettings(stack, 'S1', {
      templateName: 'sensor-fleet',
      preProvisioningHook: ProvisioningHook.fromFunction(hookA),
    });
    new ProvisioningTemplateSettings(stack, 'S2', {
      templateName: 'meter-fleet',
      preProvisioningHook: ProvisioningHook.fromFunction(hookB),
    });
    const s = synthesize(stack);
    expectLeastPrivilege(s);
    const perms = s
      .byType('AWS::Lambda::Permission')
      .map(([, r]) => [r.Properties.FunctionName, literal(r.Properties.SourceArn)]);
    expect(perms.sort()).toEqual([
      [
        'arn:aws:lambda:eu-west-1:111122223333:function:hook-a',
        'arn:<Ref>:iot:eu-west-1:111122223333:provisioningtemplate/sensor-fleet',
      ],
      [
        'arn:aws:lambda:eu-west-1:111122223333:function:hook-b',
        'arn:<Ref>:iot:eu-west-1:111122223333:provisioningtemplate/meter-fleet',
      ],
    ]);
  });

  test('a hook shared by templates without a common prefix gets one exact permission per template, not a wildcard', () => {
    const stack = newStack();
    const hook = ProvisioningHook.fromFunction(importedHook(stack));
    new ProvisioningTemplateSettings(stack, 'A', { templateName: 'sensor-fleet', preProvisioningHook: hook });
    new ProvisioningTemplateSettings(stack, 'B', { templateName: 'meter-fleet', preProvisioningHook: hook });
    new ProvisioningTemplateSettings(stack, 'C', { templateName: 'gateway-fleet', preProvisioningHook: hook });
    const s = synthesize(stack);
    expectLeastPrivilege(s);
    expect(
      s
        .byType('AWS::Lambda::Permission')
        .map(([, r]) => literal(r.Properties.SourceArn))
        .sort(),
    ).toEqual(
      ['gateway-fleet', 'meter-fleet', 'sensor-fleet'].map(
        (n) => `arn:<Ref>:iot:eu-west-1:111122223333:provisioningtemplate/${n}`,
      ),
    );
  });

  test('adding a template to a hook adds one exact permission and leaves the existing ones as they were', () => {
    const permissions = (names: string[]) => {
      const stack = newStack();
      const hook = ProvisioningHook.fromFunction(importedHook(stack));
      names.forEach(
        (name, i) =>
          new ProvisioningTemplateSettings(stack, `S${i}`, { templateName: name, preProvisioningHook: hook }),
      );
      return Object.fromEntries(
        synthesize(stack)
          .byType('AWS::Lambda::Permission')
          .map(([id, r]) => [id, literal(r.Properties.SourceArn)]),
      );
    };
    const before = permissions(['sensor-fleet', 'meter-fleet']);
    const after = permissions(['sensor-fleet', 'meter-fleet', 'a-gateway-fleet']);
    expect(Object.keys(after)).toHaveLength(3);
    expect(after).toMatchObject(before);
    expect(Object.values(after)).toContain('arn:<Ref>:iot:eu-west-1:111122223333:provisioningtemplate/a-gateway-fleet');
  });

  test('the example app holds no wildcard at all', () => {
    const app = new App();
    const stack = new FleetProvisioningStack(app, 'Example', { env: ENV, existingTemplateName: 'existing-fleet' });
    const s = synthesize(stack);
    expectLeastPrivilege(s);
    // Its hook serves one template, created in the app (a Ref): one exact permission for AWS IoT; and
    // the drift check's schedule may invoke the handler, from its own rule only.
    const permissions = s.byType('AWS::Lambda::Permission').map(([, r]) => r.Properties);
    expect(permissions.map((p) => p.Principal).sort()).toEqual(['events.amazonaws.com', 'iot.amazonaws.com']);
    const events = permissions.find((p) => p.Principal === 'events.amazonaws.com');
    expect(events?.SourceArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/DriftCheckRule/), 'Arn'] });
  });

  test('the only template wildcards are the documented, limit-driven widenings, each a `prefix*` pattern', () => {
    const stack = newStack();
    const hook = importedHook(stack);
    const fewHook = importedHook(stack, 'few');
    for (let i = 0; i < 200; i++) {
      new ProvisioningTemplateSettings(stack, `S${i}`, {
        templateName: `${i % 2 ? 'sensor' : 'meter'}-fleet-template-number-${String(i).padStart(4, '0')}`,
        preProvisioningHook: ProvisioningHook.fromFunction(i < 60 ? hook : i < 63 ? fewHook : hook),
      });
    }
    const s = synthesize(stack);
    const policy = s.provider.scopedTemplates();
    const hookScope = s.provider.scopedHookTemplates(hook);
    const fewScope = s.provider.scopedHookTemplates(fewHook);
    expect(policy.widened).toBe(true);
    expect(hookScope.widened).toBe(true);
    expect(fewScope).toEqual({ patterns: expect.any(Array), widened: false });
    const wildcards = (patterns: string[]) => patterns.filter((p) => p.includes('*'));
    for (const p of [...wildcards(policy.patterns), ...wildcards(hookScope.patterns)]) {
      // `prefix*`: never a bare '*', never a wildcard in the middle of a name.
      expect(p).toMatch(/^[0-9A-Za-z_-]+\*$/);
    }
    expectLeastPrivilege(s, {
      policy: wildcards(policy.patterns),
      hooks: { [hook.functionArn]: wildcards(hookScope.patterns) },
    });
    // The policy holds exactly the scoped patterns; the busy hook gets MAX_HOOK_PERMISSIONS permissions, the other one exact ones.
    expect(templateResources(s).sort()).toEqual(
      policy.patterns.map((p) => `arn:<Ref>:iot:eu-west-1:111122223333:provisioningtemplate/${p}`).sort(),
    );
    const perms = s.byType('AWS::Lambda::Permission').map(([, r]) => r.Properties);
    expect(perms.filter((p) => p.FunctionName === hook.functionArn)).toHaveLength(MAX_HOOK_PERMISSIONS);
    // Both widenings are announced at synth, each under its own warning id.
    const warnings = Annotations.fromStack(stack)
      .findWarning('*', Match.anyValue())
      .map((w) => String(w.entry.data));
    expect(warnings.filter((w) => w.includes(WIDENED_WARNING_ID))).toHaveLength(1);
    expect(warnings.filter((w) => w.includes(HOOK_WIDENED_WARNING_ID) && w.includes(hook.node.path))).toHaveLength(1);
    expect(
      perms
        .filter((p) => p.FunctionName === fewHook.functionArn)
        .map((p) => literal(p.SourceArn))
        .sort(),
    ).toEqual(
      [60, 61, 62]
        .map(
          (i) =>
            `arn:<Ref>:iot:eu-west-1:111122223333:provisioningtemplate/${i % 2 ? 'sensor' : 'meter'}-fleet-template-number-00${i}`,
        )
        .sort(),
    );
  });

  test('the wildcard check itself catches a wildcard resource and action', () => {
    // Guard against a check that cannot fail: feed it a statement the construct must never produce.
    const stack = newStack();
    new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 'sensor-fleet' });
    const s = synthesize(stack);
    const bad = (st: Statement) => ({ ...s, statements: [...s.statements, st] });
    expect(() =>
      expectLeastPrivilege(
        bad({ Effect: 'Allow', Action: 'iot:*', Resource: 'arn:aws:iot:eu-west-1:111122223333:thing/x' }),
      ),
    ).toThrow();
    expect(() =>
      expectLeastPrivilege(bad({ Effect: 'Allow', Action: 'iot:UpdateProvisioningTemplate', Resource: '*' })),
    ).toThrow();
    expect(() =>
      expectLeastPrivilege(
        bad({
          Effect: 'Allow',
          Action: 'iot:UpdateProvisioningTemplate',
          Resource: {
            'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iot:eu-west-1:111122223333:provisioningtemplate/*']],
          },
        }),
      ),
    ).toThrow();
    expect(() =>
      expectLeastPrivilege(
        bad({ Effect: 'Allow', Action: 'iam:PassRole', Resource: 'arn:aws:iam::111122223333:role/x' }),
      ),
    ).toThrow();
    // A Deny other than the tag guard, or the guard without its condition.
    expect(() => expectLeastPrivilege(bad({ Effect: 'Deny', Action: 'iot:TagResource', Resource: '*' }))).toThrow();
    expect(() =>
      expectLeastPrivilege({
        ...s,
        statements: s.statements.map((st) => (st.Sid === 'TagOnlyOwnKeys' ? { ...st, Condition: undefined } : st)),
      }),
    ).toThrow();
    expect(() => expectLeastPrivilege(s)).not.toThrow();
  });
});
