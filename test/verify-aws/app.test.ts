/**
 * The apps verify:aws deploys synthesize offline, phase by phase, and each
 * phase is what its checks assume (scripts/verify-aws/app.ts).
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EXT_PHASES, ExtPhase, MAIN_PHASES, MainPhase, buildVerifyApp } from '../../scripts/verify-aws/app';
import { runNames } from '../../scripts/verify-aws/names';

const PREFIX = 'ptsverify-0123abcd';
const names = runNames(PREFIX);
const SETTINGS = 'Custom::IoTProvisioningTemplateSettings';

function synth(main: MainPhase, ext: ExtPhase = 'create') {
  const app = new App();
  const stacks = buildVerifyApp(app, {
    prefix: PREFIX,
    account: '111122223333',
    region: 'eu-west-1',
    main,
    ext,
    versionId: 3,
  });
  app.synth();
  return { main: Template.fromStack(stacks.main), ext: Template.fromStack(stacks.ext), stacks };
}

const settingsIds = (t: Template) => Object.keys(t.findResources(SETTINGS));

describe('the apps verify:aws deploys', () => {
  test.each(MAIN_PHASES)('main phase %s synthesizes with its stack name and one settings resource', (phase) => {
    const { main, stacks } = synth(phase);
    expect(stacks.main.stackName).toBe(names.mainStack);
    expect(settingsIds(main)).toHaveLength(1);
    main.resourceCountIs('AWS::IoT::ProvisioningTemplate', 2);
  });

  test.each(EXT_PHASES)('ext phase %s synthesizes and manages the external template by name', (phase) => {
    const { ext, stacks } = synth('create', phase);
    expect(stacks.ext.stackName).toBe(names.extStack);
    ext.hasResourceProperties(SETTINGS, {
      TemplateName: names.extTemplate,
      Enabled: 'true',
      PreProvisioningHook: Match.anyValue(),
    });
    ext.resourceCountIs('AWS::IoT::ProvisioningTemplate', 0);
  });

  test('create: the template is created disabled; the settings enable it, set the second role and the hook', () => {
    const { main } = synth('create');
    main.hasResourceProperties('AWS::IoT::ProvisioningTemplate', { TemplateName: names.template, Enabled: false });
    main.hasResourceProperties(SETTINGS, {
      Enabled: 'true',
      PreProvisioningHook: Match.objectLike({ TargetArn: Match.anyValue() }),
      ProvisioningRoleArn: Match.anyValue(),
    });
    main.resourceCountIs('AWS::Lambda::Permission', 1);
  });

  test('body: only the template body changes, and the settings are applied again (a new TemplateRevision)', () => {
    const create = synth('create').main;
    const body = synth('body').main;
    const template = (t: Template) =>
      Object.values(
        t.findResources('AWS::IoT::ProvisioningTemplate', { Properties: { TemplateName: names.template } }),
      )[0];
    expect(template(body).Properties.TemplateBody).not.toEqual(template(create).Properties.TemplateBody);
    const revision = (t: Template) =>
      JSON.stringify(Object.values(t.findResources(SETTINGS))[0].Properties.TemplateRevision);
    expect(revision(body)).not.toEqual(revision(create));
    expect(settingsIds(body)).toEqual(settingsIds(create));
  });

  test('rename: the same settings under a new construct id (a new logical id)', () => {
    const [before] = settingsIds(synth('body').main);
    const [after] = settingsIds(synth('rename').main);
    expect(before).toMatch(/^Settings(?!Renamed)/);
    expect(after).toMatch(/^SettingsRenamed/);
  });

  test('update: the hook is dropped from the props and its invoke permission goes', () => {
    const { main } = synth('update');
    main.hasResourceProperties(SETTINGS, {
      PreProvisioningHook: Match.absent(),
      Description: 'verify:aws: changed by an update',
    });
    main.resourceCountIs('AWS::Lambda::Permission', 0);
  });

  test('failed-update: starts managing the default version, and a resource made to fail comes after the settings', () => {
    const { main } = synth('failed-update');
    main.hasResourceProperties(SETTINGS, { DefaultVersionId: '3' });
    const [settings] = settingsIds(main);
    main.hasResource('Custom::VerifyAwsMadeToFail', { DependsOn: Match.arrayWith([settings]) });
    expect(settingsIds(main)).toEqual(settingsIds(synth('update').main));
  });

  test('failed-create: a resource made to fail comes after the settings', () => {
    const { ext } = synth('create', 'failed-create');
    const [settings] = settingsIds(ext);
    ext.hasResource('Custom::VerifyAwsMadeToFail', { DependsOn: Match.arrayWith([settings]) });
    expect(settingsIds(synth('create', 'create').ext)).toEqual([settings]);
  });

  test('every named resource carries the run prefix, so the cleanup can find it', () => {
    const { main, ext } = synth('failed-update', 'failed-create');
    for (const t of [main, ext]) {
      const json = t.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
      for (const r of Object.values(json)) {
        const name = r.Properties?.FunctionName ?? r.Properties?.RoleName ?? r.Properties?.TemplateName;
        if (typeof name === 'string') expect(name.startsWith(`${PREFIX}-`)).toBe(true);
        const group = r.Properties?.LogGroupName;
        if (typeof group === 'string') expect(group.startsWith(`/aws/lambda/${PREFIX}-`)).toBe(true);
      }
    }
  });

  test('the failed-update phase refuses to synthesize without the version to pin', () => {
    const app = new App();
    expect(() =>
      buildVerifyApp(app, {
        prefix: PREFIX,
        account: '111122223333',
        region: 'eu-west-1',
        main: 'failed-update',
        ext: 'create',
      }),
    ).toThrow(/needs the verify:version context/);
  });
});
