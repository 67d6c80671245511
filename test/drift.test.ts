/**
 * The drift check (lambda/drift.ts), as its schedule runs it: the handler's
 * TypeScript modules over HTTP against the local IoT and CloudFormation
 * fakes, after Creates and Updates that applied the settings with a drift
 * check.
 */
import type { SettingsProperties } from '../lib/handler-contract';
import { APPLIED_TAG, pieces } from '../lambda/record';
import { expectSuccess, FAST_SETTINGS, settings, WireHarness } from './support/cfn';
import { AS_IT_WAS, functionArn, roleArn } from './support/fake-iot';

const h = WireHarness.install(FAST_SETTINGS, true);

const STACK = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Fleet/11111111-0000-4000-8000-000000000000';
const NAME = 'FleetTemplate';
const HOOK = { TargetArn: functionArn('DeviceCheck'), PayloadVersion: '2020-04-01' };
const PROPS = settings({
  TemplateName: NAME,
  Description: 'sensors',
  Enabled: 'false',
  DefaultVersionId: '2',
  ProvisioningRoleArn: roleArn('StackProvisioningRole'),
  PreProvisioningHook: HOOK,
  Drift: 'report',
});

async function deploy(props: SettingsProperties, id = 'Settings'): Promise<void> {
  if (!h.iot.template(props.TemplateName)) h.iot.putTemplate(props.TemplateName, AS_IT_WAS);
  expectSuccess(await h.send({ ...h.createEvent(props, id), StackId: STACK }), props.TemplateName);
  h.cfnApi.stacks.set(STACK, { status: 'UPDATE_COMPLETE' });
}

const drifts = (run: { logs: Array<{ message?: unknown }> }) => run.logs.filter((l) => l.message === 'drift');

test('no drift: no report, and a metric of 0 for the template, in two IoT calls', async () => {
  await deploy(PROPS);
  const tagCalls = h.iot.tagRequests.length;
  const run = await h.checkDrift(STACK);
  expect(h.iot.tagRequests.slice(tagCalls).map((r) => r.operation)).toEqual(['ListTagsForResource']);
  expect(run.error).toBeUndefined();
  expect(drifts(run)).toEqual([]);
  expect(run.metrics).toEqual([
    {
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: 'IoTProvisioningTemplateSettings',
            Dimensions: [['TemplateName']],
            Metrics: [{ Name: 'DriftedSettings' }],
          },
        ],
      },
      TemplateName: NAME,
      DriftedSettings: 0,
    },
  ]);
  expect(run.iotRequests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /provisioning-templates/${NAME}`]);
});

describe('a change made outside the stack: one report each, naming the setting', () => {
  const cases: Array<[string, Parameters<typeof h.iot.modifyTemplate>[1], string, unknown, unknown]> = [
    ['a hook removed', { preProvisioningHook: undefined }, 'preProvisioningHook', HOOK.TargetArn, undefined],
    ['the template enabled again', { enabled: true }, 'enabled', false, true],
    [
      'another role',
      { provisioningRoleArn: roleArn('Other') },
      'provisioningRoleArn',
      roleArn('StackProvisioningRole'),
      roleArn('Other'),
    ],
    ['another default version', { defaultVersionId: 3 }, 'defaultVersionId', 2, 3],
  ];
  test.each(cases)('%s', async (_what, change, setting, applied, live) => {
    await deploy(PROPS);
    h.iot.modifyTemplate(NAME, change);
    const run = await h.checkDrift(STACK);
    expect(drifts(run)).toHaveLength(1);
    const [report] = drifts(run) as Array<Record<string, unknown>>;
    expect(report).toMatchObject({ templateName: NAME, setting });
    const shown = (v: unknown) => (typeof v === 'object' && v ? (v as { targetArn: string }).targetArn : v);
    expect([shown(report.applied), shown(report.live)]).toEqual([applied, live]);
    expect(run.metrics.map((m) => m.DriftedSettings)).toEqual([1]);
    // Report only: nothing written.
    expect(run.iotRequests.filter((r) => r.method !== 'GET')).toEqual([]);
  });
});

test('restore: the applied settings are written back, and a second check reports nothing', async () => {
  await deploy({ ...PROPS, Drift: 'restore' });
  const applied = h.iot.template(NAME);
  h.iot.modifyTemplate(NAME, { preProvisioningHook: undefined, enabled: true, description: 'changed in the console' });

  const first = await h.checkDrift(STACK);
  expect(drifts(first).map((d) => (d as { setting?: string }).setting)).toEqual([
    'description',
    'enabled',
    'preProvisioningHook',
  ]);
  expect(h.iot.template(NAME)).toEqual(applied);

  const second = await h.checkDrift(STACK);
  expect(drifts(second)).toEqual([]);
  expect(second.metrics.map((m) => m.DriftedSettings)).toEqual([0]);
});

test('restore, while the stack is being deployed: reported, not written back', async () => {
  await deploy({ ...PROPS, Drift: 'restore' });
  h.iot.modifyTemplate(NAME, { enabled: true });
  h.cfnApi.stacks.set(STACK, { status: 'UPDATE_IN_PROGRESS' });

  const run = await h.checkDrift(STACK);

  expect(drifts(run)).toHaveLength(1);
  expect(run.logs.some((l) => l.message === 'not restored: stack deploying')).toBe(true);
  expect(h.iot.template(NAME)!.enabled).toBe(true);
});

test('a template the stack no longer manages, or whose construct asks for no check, is not checked', async () => {
  await deploy(PROPS);
  await deploy({ ...PROPS, TemplateName: 'Unchecked', Drift: undefined }, 'Unchecked');
  await deploy({ ...PROPS, TemplateName: 'Removed' }, 'Removed');
  expectSuccess(
    await h.send({ ...h.deleteEvent('Removed', { ...PROPS, TemplateName: 'Removed' }, 'Removed'), StackId: STACK }),
    'Removed',
  );
  for (const name of [NAME, 'Unchecked', 'Removed']) h.iot.modifyTemplate(name, { enabled: true });

  const run = await h.checkDrift(STACK);

  expect(drifts(run).map((d) => (d as { templateName?: string }).templateName)).toEqual([NAME]);
  expect(run.metrics.map((m) => m.TemplateName)).toEqual([NAME]);
});

test('a template another resource took over is not checked by this one', async () => {
  await deploy(PROPS);
  h.iot.setTag(NAME, 'iot-provisioning-template-settings:owner', 'Other/Settings/22222222');
  h.iot.modifyTemplate(NAME, { enabled: true });

  const run = await h.checkDrift(STACK);

  expect(drifts(run)).toEqual([]);
  expect(run.metrics).toEqual([]);
});

test('the applied settings follow an Update, and a rollback of it', async () => {
  await deploy(PROPS);
  const v2 = { ...PROPS, Enabled: 'true' };
  expectSuccess(await h.send({ ...h.updateEvent(NAME, v2, PROPS), StackId: STACK }), NAME);
  h.cfnApi.stacks.set(STACK, { status: 'UPDATE_COMPLETE' });
  expect(drifts(await h.checkDrift(STACK))).toEqual([]);

  h.cfnApi.stacks.set(STACK, { status: 'UPDATE_ROLLBACK_IN_PROGRESS' });
  expectSuccess(await h.send({ ...h.updateEvent(NAME, PROPS, v2), StackId: STACK }), NAME);
  h.cfnApi.stacks.set(STACK, { status: 'UPDATE_ROLLBACK_COMPLETE' });
  expect(h.iot.template(NAME)!.enabled).toBe(false);
  expect(drifts(await h.checkDrift(STACK))).toEqual([]);
});

test("the drift check's tags go when the construct stops asking for it, and with the resource", async () => {
  const applied = (name: string) =>
    Object.keys(h.iot.tagsOf(name) ?? {}).filter((k) => k.startsWith('iot-provisioning-template-settings:applied'));
  await deploy(PROPS);
  expect(applied(NAME).length).toBeGreaterThan(0);
  const off = { ...PROPS, Drift: undefined };
  expectSuccess(await h.send({ ...h.updateEvent(NAME, off, PROPS), StackId: STACK }), NAME);
  expect(applied(NAME)).toEqual([]);
  expectSuccess(await h.send({ ...h.updateEvent(NAME, PROPS, off), StackId: STACK }), NAME);
  expectSuccess(await h.send({ ...h.deleteEvent(NAME, PROPS), StackId: STACK }), NAME);
  expect(applied(NAME)).toEqual([]);
});

test('a template that cannot be read is named, the others are still checked, and the check fails', async () => {
  await deploy({ ...PROPS, TemplateName: 'Broken' }, 'Broken');
  await deploy(PROPS);
  h.iot.modifyTemplate(NAME, { enabled: true });
  h.iot.injectTags('ListTagsForResource', { status: 403, errorType: 'AccessDeniedException', message: 'no' }, 50);

  const run = await h.checkDrift(STACK);

  expect(String(run.error)).toMatch(/2 template\(s\) not checked/);
  expect(run.logs.filter((l) => l.message === 'not checked').length).toBe(2);
});

test('a template deleted outside the stack gets no metric (an alarm treating missing data as breaching sees it), and fails nobody', async () => {
  await deploy(PROPS);
  await deploy({ ...PROPS, TemplateName: 'Unchecked', Drift: undefined }, 'Unchecked');
  h.iot.deleteTemplate(NAME);
  h.iot.deleteTemplate('Unchecked');

  const run = await h.checkDrift(STACK);

  expect(run.error).toBeUndefined();
  expect(run.metrics).toEqual([]);
});

test('restore asks for the stack status before each write: a deployment that starts during the check is left alone', async () => {
  await deploy({ ...PROPS, TemplateName: 'A', Drift: 'restore' }, 'A');
  await deploy({ ...PROPS, TemplateName: 'B', Drift: 'restore' }, 'B');
  h.iot.modifyTemplate('A', { enabled: true });
  h.iot.modifyTemplate('B', { enabled: true });
  const stacks = h.cfnApi.stacks;
  const get = stacks.get.bind(stacks);
  // The first restore finds the stack settled; a deployment has started when the second asks.
  let asked = 0;
  stacks.get = (key: string) => (key === STACK && asked++ > 0 ? { status: 'UPDATE_IN_PROGRESS' } : get(key));
  try {
    await h.checkDrift(STACK);
  } finally {
    stacks.get = get;
  }
  expect([h.iot.template('A')!.enabled, h.iot.template('B')!.enabled]).toEqual([false, true]);
});

test('restore writes only the template it checked, and only the settings SETTINGS names, whatever a tag says', async () => {
  await deploy({ ...PROPS, TemplateName: 'X', Drift: 'restore' }, 'X');
  await deploy({ ...PROPS, TemplateName: 'Y', Drift: undefined }, 'Y');
  const forged = pieces(APPLIED_TAG, {
    templateName: 'Y',
    drift: 'restore',
    enabled: true,
    preProvisioningHook: { targetArn: functionArn('Attacker'), payloadVersion: '2020-04-01' },
  });
  for (const [key, value] of Object.entries(forged)) h.iot.setTag('X', key, value as string);

  await h.checkDrift(STACK);

  expect(h.iot.template('Y')!.preProvisioningHook?.targetArn).toBe(HOOK.TargetArn);
  // On X itself, what the tag names is written: tags are trusted as the handler's own (README: deny others TagResource on these keys).
  expect(h.iot.template('X')!.enabled).toBe(true);
});

test('ListStackResources is followed page by page', async () => {
  h.cfnApi.resourcePageSize = 1;
  await deploy({ ...PROPS, TemplateName: 'First' }, 'First');
  await deploy(PROPS);
  h.iot.modifyTemplate(NAME, { enabled: true });

  const run = await h.checkDrift(STACK);

  expect(run.metrics.map((m) => m.TemplateName).sort()).toEqual(['First', NAME]);
  expect(h.cfnApi.requests.filter((r) => r.action === 'ListStackResources')).toHaveLength(2);
});
