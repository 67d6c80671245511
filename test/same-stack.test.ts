/**
 * A CfnProvisioningTemplate of the same stack, paired with the construct:
 * the checks at synth (a hook on a template that is not FLEET_PROVISIONING,
 * a setting given to both with different values, a template created enabled
 * before the hook), and the values that change only at deploy time, which the
 * custom resource follows through TemplateRevision or warns about.
 */
import { App, CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { FleetProvisioningStack } from '../bin/example';
import { ProvisioningHook, ProvisioningTemplateSettings, ProvisioningTemplateSettingsProps } from '../lib';
import { RESOURCE_TYPE } from '../lib/handler-contract';

const ENV = { account: '111122223333', region: 'eu-west-1' };
const ROLE_ARN = 'arn:aws:iam::111122223333:role/p';
const PREFIX = 'cdk-iot-provisioning-template-settings:';

type TemplateProps = Partial<iot.CfnProvisioningTemplateProps>;

function paired(
  templateProps: TemplateProps | ((stack: Stack) => TemplateProps),
  settings: (stack: Stack) => Omit<ProvisioningTemplateSettingsProps, 'templateName'> = () => ({}),
) {
  const app = new App();
  const stack = new Stack(app, 'Test', { env: ENV });
  const extra = typeof templateProps === 'function' ? templateProps(stack) : templateProps;
  const template = new iot.CfnProvisioningTemplate(stack, 'Template', {
    provisioningRoleArn: ROLE_ARN,
    templateBody: '{"Resources":{}}',
    templateType: 'FLEET_PROVISIONING',
    ...extra,
  });
  new ProvisioningTemplateSettings(stack, 'S', { templateName: template.ref, ...settings(stack) });
  return { app, stack };
}

function revision(stack: Stack): unknown {
  const [resource] = Object.values(Template.fromStack(stack).findResources(RESOURCE_TYPE));
  return resource.Properties.TemplateRevision;
}

/** The values joined after the digest and the role (adjacent literals are merged by Fn.join). */
function followed(stack: Stack): unknown[] {
  const value = revision(stack);
  const parts = typeof value === 'string' ? [value] : (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  if (typeof value !== 'string') expect((value as { 'Fn::Join': [string] })['Fn::Join'][0]).toBe('|');
  const flat = parts.flatMap((p) => (typeof p === 'string' ? p.split('|').filter((x) => x !== '') : [p]));
  const [digest, role, ...rest] = flat;
  expect(digest).toMatch(/^[0-9a-f]{16}$/);
  expect(role).toBe(ROLE_ARN);
  return rest;
}

function warnings(stack: Stack, id: string): string[] {
  return Annotations.fromStack(stack)
    .findWarning('*', Match.stringLikeRegexp(`\\[ack: ${PREFIX}${id}\\]`))
    .map((w) => String(w.entry.data));
}

function hookFn(stack: Stack) {
  return lambda.Function.fromFunctionArn(stack, 'Hook', 'arn:aws:lambda:eu-west-1:111122223333:function:check');
}

describe('values of the template that change only at deploy time (issue 16, gap 7)', () => {
  test("a parameter in the template's body is joined into TemplateRevision, so a new value updates the settings too", () => {
    const { stack } = paired((s) => {
      const prefix = new CfnParameter(s, 'ThingPrefix', { type: 'String' });
      return {
        templateBody:
          Fn.sub('{"Resources":{"thing":{"ThingName":"${ThingPrefix}"}}}', {}) && `{"p":"${prefix.valueAsString}"}`,
      };
    });
    expect(followed(stack)).toEqual([{ Ref: 'ThingPrefix' }]);
  });

  test('a list parameter goes in as the body joins it; a pseudo parameter is left out, as it never changes in a stack', () => {
    const { stack } = paired((s) => {
      const groups = new CfnParameter(s, 'Groups', { type: 'CommaDelimitedList' });
      return {
        templateBody: Fn.join('', ['{"g":"', Fn.join(';', groups.valueAsList), '","r":"', Stack.of(s).region, '"}']),
        description: `in ${Stack.of(s).partition}`,
      };
    });
    expect(followed(stack)).toEqual([{ 'Fn::Join': [';', { Ref: 'Groups' }] }]);
  });

  test("an ssm dynamic reference is joined in (CloudFormation resolves it in the custom resource's properties too)", () => {
    const reference = '{{resolve:ssm:/fleet/thing-prefix}}';
    const { stack } = paired({ templateBody: `{"p":"${reference}"}` });
    expect(followed(stack)).toEqual([reference]);
    expect(warnings(stack, 'templateChangeNotFollowed')).toEqual([]);
  });

  test("another resource's attribute (a hook function replaced) is joined in", () => {
    const { stack } = paired((s) => {
      const fn = new lambda.Function(s, 'TemplateHook', {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => ({})'),
      });
      return { preProvisioningHook: { targetArn: fn.functionArn, payloadVersion: '2020-04-01' } };
    });
    expect(followed(stack)).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^TemplateHook/), 'Arn'] }]);
  });

  test.each([
    [
      'a secretsmanager dynamic reference',
      '{{resolve:secretsmanager:fleet/prefix:SecretString:p}}',
      /secretsmanager references in no custom resource/,
    ],
    [
      'an ssm-secure dynamic reference',
      '{{resolve:ssm-secure:/fleet/prefix:1}}',
      /ssm-secure references in no custom resource/,
    ],
  ])('%s cannot be followed: left out, with a warning that says what to do', (_label, reference, why) => {
    const { stack } = paired({ templateBody: `{"p":"${reference}"}` });
    expect(revision(stack)).toMatch(/^[0-9a-f]{16}\|arn:aws:iam::111122223333:role\/p$/);
    expect(warnings(stack, 'templateChangeNotFollowed')).toEqual([
      expect.stringMatching(
        new RegExp(`Test/Template uses the dynamic reference .*Change something this construct sees`),
      ),
    ]);
    expect(warnings(stack, 'templateChangeNotFollowed')[0]).toMatch(why);
  });

  test('a NoEcho parameter is not joined in (the handler logs its event), with a warning', () => {
    const { stack } = paired((s) => {
      const secret = new CfnParameter(s, 'Secret', { type: 'String', noEcho: true });
      return { description: secret.valueAsString };
    });
    expect(revision(stack)).toMatch(/^[0-9a-f]{16}\|arn:aws:iam::111122223333:role\/p$/);
    expect(warnings(stack, 'templateChangeNotFollowed')).toEqual([
      expect.stringMatching(/the NoEcho parameter Secret/),
    ]);
  });

  test('a template with nothing resolved at deploy time keeps the digest and the role only', () => {
    const { stack } = paired({});
    expect(revision(stack)).toMatch(/^[0-9a-f]{16}\|arn:aws:iam::111122223333:role\/p$/);
  });
});

describe('pairing checks at synth', () => {
  test.each(['JITP'])(
    'a hook on a same-stack template whose templateType is %s is an error naming the prop and the type',
    (type) => {
      const { app } = paired({ templateType: type }, (s) => ({
        preProvisioningHook: ProvisioningHook.fromFunction(hookFn(s)),
      }));
      expect(() => app.synth()).toThrow(
        /\[Test\/S\] preProvisioningHook must be left out for templateName Test\/Template, whose templateType is "JITP": AWS IoT accepts a pre-provisioning hook on FLEET_PROVISIONING templates only/,
      );
    },
  );

  test('no error without a hook, or on a FLEET_PROVISIONING template, or with a templateType known only at deploy time', () => {
    expect(() => paired({ templateType: 'JITP' }).app.synth()).not.toThrow();
    const hook = (s: Stack) => ({ preProvisioningHook: ProvisioningHook.fromFunction(hookFn(s)) });
    expect(() => paired({}, hook).app.synth()).not.toThrow();
    expect(() =>
      paired(
        (s) => ({ templateType: new CfnParameter(s, 'Type', { type: 'String' }).valueAsString }),
        hook,
      ).app.synth(),
    ).not.toThrow();
  });

  test.each<[string, TemplateProps, (s: Stack) => Omit<ProvisioningTemplateSettingsProps, 'templateName'>, RegExp]>([
    [
      'description',
      { description: 'theirs' },
      () => ({ description: 'ours' }),
      /^description is given both here \("ours"\) and on Test\/Template \("theirs"\)/,
    ],
    [
      'enabled',
      { enabled: true },
      () => ({ enabled: false }),
      /^enabled is given both here \(false\) and on Test\/Template \(true\)/,
    ],
    [
      'provisioningRole',
      {},
      (s) => ({ provisioningRole: iam.Role.fromRoleArn(s, 'R', 'arn:aws:iam::111122223333:role/other') }),
      /^provisioningRole is given both here \("arn:aws:iam::111122223333:role\/other"\) and on Test\/Template/,
    ],
    [
      'preProvisioningHook',
      { preProvisioningHook: { targetArn: 'arn:aws:lambda:eu-west-1:111122223333:function:theirs' } },
      (s) => ({ preProvisioningHook: ProvisioningHook.fromFunction(hookFn(s)) }),
      /^preProvisioningHook is given both here .*function:check.* and on Test\/Template .*function:theirs/,
    ],
  ])('%s given to both with different values: a warning with its id', (_prop, templateProps, settings, message) => {
    const { stack } = paired(templateProps, settings);
    const found = warnings(stack, 'templateSettingDiffers');
    expect(found).toEqual([expect.stringMatching(message)]);
    expect(found[0]).toMatch(/Leave description, enabled and preProvisioningHook off the CfnProvisioningTemplate/);
  });

  test('the same values on both, or a setting on one side only: no warning', () => {
    const { stack } = paired(
      {
        description: 'same',
        enabled: false,
        preProvisioningHook: { targetArn: 'arn:aws:lambda:eu-west-1:111122223333:function:check' },
      },
      (s) => ({
        description: 'same',
        enabled: false,
        provisioningRole: iam.Role.fromRoleArn(s, 'R', ROLE_ARN),
        preProvisioningHook: ProvisioningHook.fromFunction(hookFn(s)),
      }),
    );
    expect(warnings(stack, 'templateSettingDiffers')).toEqual([]);
  });

  test('a template created enabled while the construct sets the hook: a warning, as devices could be provisioned without it', () => {
    const hook = (s: Stack) => ({ enabled: true, preProvisioningHook: ProvisioningHook.fromFunction(hookFn(s)) });
    expect(warnings(paired({ enabled: true }, hook).stack, 'templateEnabledBeforeHook')).toEqual([
      expect.stringMatching(
        /^Test\/Template sets enabled, and this construct sets a preProvisioningHook: CloudFormation creates the template enabled before/,
      ),
    ]);
    expect(warnings(paired({}, hook).stack, 'templateEnabledBeforeHook')).toEqual([]);
    expect(warnings(paired({ enabled: false }, hook).stack, 'templateEnabledBeforeHook')).toEqual([]);
  });

  test('the example app follows the pairing rule: no pairing warning', () => {
    const stack = new FleetProvisioningStack(new App(), 'Example', { existingTemplateName: 'existing-fleet' });
    for (const id of ['templateSettingDiffers', 'templateEnabledBeforeHook', 'templateChangeNotFollowed']) {
      expect(warnings(stack, id)).toEqual([]);
    }
  });
});
