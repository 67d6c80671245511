/**
 * SETTINGS (lib/handler-contract.ts): each managed setting described once,
 * from the construct's prop to the SDK's field. The construct, the handler
 * and the test helpers all read it; these tests pin each row to what AWS IoT
 * and CloudFormation expect, written out by hand.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ProvisioningHook, ProvisioningTemplateSettings, ProvisioningTemplateSettingsProps } from '../lib';
import { desiredWrite, RESOURCE_TYPE, SETTINGS, SettingsProperties, TemplateWrite } from '../lib/handler-contract';
import { SETTINGS_WITH_PROPS } from '../lib/setting-props';

const ROLE = 'arn:aws:iam::111122223333:role/provisioning';
const HOOK = 'arn:aws:lambda:eu-west-1:111122223333:function:hook';
const OTHER_HOOK = 'arn:aws:lambda:eu-west-1:111122223333:function:other';

function allProps(stack: Stack): ProvisioningTemplateSettingsProps {
  return {
    templateName: 'fleet',
    description: 'Sensors',
    enabled: false,
    defaultVersionId: 3,
    provisioningRole: iam.Role.fromRoleArn(stack, 'Role', ROLE, { mutable: false }),
    preProvisioningHook: ProvisioningHook.fromFunction(lambda.Function.fromFunctionArn(stack, 'Hook', HOOK)),
  };
}

test('one row per setting, each with its own prop, property and field', () => {
  expect(SETTINGS_WITH_PROPS.map((s) => [s.prop, s.key, s.field])).toEqual([
    ['description', 'Description', 'description'],
    ['enabled', 'Enabled', 'enabled'],
    ['defaultVersionId', 'DefaultVersionId', 'defaultVersionId'],
    ['provisioningRole', 'ProvisioningRoleArn', 'provisioningRoleArn'],
    ['preProvisioningHook', 'PreProvisioningHook', 'preProvisioningHook'],
  ]);
});

test('the construct encodes every prop into its property, scalars as strings', () => {
  const stack = new Stack(new App(), 'Table');
  new ProvisioningTemplateSettings(stack, 'Settings', allProps(stack));
  const [resource] = Object.values(Template.fromStack(stack).findResources(RESOURCE_TYPE));
  const expected: Omit<SettingsProperties, 'ServiceToken' | 'TemplateName'> = {
    Description: 'Sensors',
    Enabled: 'false',
    DefaultVersionId: '3',
    ProvisioningRoleArn: ROLE,
    PreProvisioningHook: { TargetArn: HOOK, PayloadVersion: '2020-04-01' },
  };
  expect(resource.Properties).toMatchObject(expected);
  // Every property the table names is one the construct wrote.
  expect(SETTINGS.every((s) => resource.Properties[s.key] !== undefined)).toBe(true);
});

test('a setting left out of the props is left out of the properties and of the write', () => {
  const stack = new Stack(new App(), 'Table');
  new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 'fleet', enabled: true });
  const [resource] = Object.values(Template.fromStack(stack).findResources(RESOURCE_TYPE));
  for (const setting of SETTINGS.filter((s) => s.field !== 'enabled')) {
    expect([setting.key, resource.Properties[setting.key]]).toEqual([setting.key, undefined]);
  }
  expect(desiredWrite({ ServiceToken: 'x', TemplateName: 'fleet', Enabled: 'true' })).toEqual({
    templateName: 'fleet',
    enabled: true,
  });
});

test("the handler's write parses every property into its SDK field", () => {
  const write: TemplateWrite = desiredWrite({
    ServiceToken: 'x',
    TemplateName: 'fleet',
    Description: 'Sensors',
    Enabled: 'false',
    DefaultVersionId: '3',
    ProvisioningRoleArn: ROLE,
    PreProvisioningHook: { TargetArn: HOOK, PayloadVersion: '2020-04-01' },
  });
  expect(write).toEqual({
    templateName: 'fleet',
    description: 'Sensors',
    enabled: false,
    defaultVersionId: 3,
    provisioningRoleArn: ROLE,
    preProvisioningHook: { targetArn: HOOK, payloadVersion: '2020-04-01' },
  });
});

test.each([
  [{ Enabled: 'yes' }, 'Enabled must be "true" or "false"; got "yes".'],
  [{ DefaultVersionId: '0' }, 'DefaultVersionId must be a positive whole number; got "0".'],
  [{ DefaultVersionId: '1.5' }, 'DefaultVersionId must be a positive whole number; got "1.5".'],
])('a property that is not a value of its field is refused by name: %j', (property, message) => {
  expect(() => desiredWrite({ ServiceToken: 'x', TemplateName: 'fleet', ...property })).toThrow(message);
});

describe('read and restore: what the record keeps, and the write that puts it back', () => {
  const written: TemplateWrite = { templateName: 'fleet', preProvisioningHook: { targetArn: HOOK } };
  const row = (field: string) => SETTINGS.find((s) => s.field === field)!;
  const restore = (field: string, saved: unknown, previousOwner?: string) =>
    row(field).restore(saved as never, { written, previousOwner });

  test('each row reads its own field of the template', () => {
    const template = {
      description: 'Old',
      enabled: true,
      defaultVersionId: 1,
      provisioningRoleArn: ROLE,
      preProvisioningHook: { targetArn: OTHER_HOOK, payloadVersion: '2020-04-01' },
    };
    expect(SETTINGS.map((s) => s.read(template))).toEqual([
      'Old',
      true,
      1,
      ROLE,
      { targetArn: OTHER_HOOK, payloadVersion: '2020-04-01' },
    ]);
    expect(SETTINGS.map((s) => s.read({}))).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  test('description, enabled and default version go back to what the template had', () => {
    expect(restore('description', 'Old')).toEqual({ description: 'Old' });
    expect(restore('description', undefined)).toEqual({ description: '' });
    expect(restore('enabled', true)).toEqual({ enabled: true });
    expect(restore('defaultVersionId', 1)).toEqual({ defaultVersionId: 1 });
    expect(restore('enabled', undefined)).toEqual({});
  });

  test('the provisioning role goes back in a write of its own (it needs iam:PassRole)', () => {
    expect(restore('provisioningRoleArn', ROLE)).toEqual({ provisioningRoleArn: ROLE });
    expect(SETTINGS.filter((s) => s.ownWrite).map((s) => s.field)).toEqual(['provisioningRoleArn']);
  });

  test("someone else's hook goes back on; our own only when another resource owned the template", () => {
    const theirs = { targetArn: OTHER_HOOK, payloadVersion: '2020-04-01' };
    expect(restore('preProvisioningHook', theirs)).toEqual({ preProvisioningHook: theirs });
    expect(restore('preProvisioningHook', { targetArn: HOOK })).toEqual({ removePreProvisioningHook: true });
    expect(restore('preProvisioningHook', { targetArn: HOOK }, 'Fleet/Old/1234')).toEqual({
      preProvisioningHook: { targetArn: HOOK },
    });
    expect(restore('preProvisioningHook', undefined)).toEqual({ removePreProvisioningHook: true });
  });
});
