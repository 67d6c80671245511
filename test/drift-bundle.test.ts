/**
 * The drift check run by the BUNDLED handler (test/drift.test.ts runs the
 * TypeScript modules, for coverage): report, then restore, so the shortened
 * property names of the bundle (scripts/bundle-handler.mjs) are exercised on
 * this path too.
 */
import { expectSuccess, FAST_SETTINGS, settings, WireHarness } from './support/cfn';
import { AS_IT_WAS, functionArn } from './support/fake-iot';

const h = WireHarness.install(FAST_SETTINGS, false);

const STACK = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Fleet/11111111-0000-4000-8000-000000000000';
const NAME = 'FleetTemplate';

test('the bundle reports a removed hook, then restores it, and the next check is clean', async () => {
  h.iot.putTemplate(NAME, AS_IT_WAS);
  const props = settings({
    TemplateName: NAME,
    Enabled: 'true',
    PreProvisioningHook: { TargetArn: functionArn('DeviceCheck'), PayloadVersion: '2020-04-01' },
    Drift: 'restore',
  });
  expectSuccess(await h.send({ ...h.createEvent(props), StackId: STACK }), NAME);
  h.cfnApi.stacks.set(STACK, { status: 'UPDATE_COMPLETE' });
  const applied = h.iot.template(NAME);
  h.iot.modifyTemplate(NAME, { preProvisioningHook: undefined, enabled: false });

  const first = await h.checkDrift(STACK);
  expect(first.error).toBeUndefined();
  expect(first.logs.filter((l) => l.message === 'drift').map((l) => l.setting)).toEqual([
    'enabled',
    'preProvisioningHook',
  ]);
  expect(first.metrics.map((m) => m.DriftedSettings)).toEqual([2]);
  expect(h.iot.template(NAME)).toEqual(applied);

  const second = await h.checkDrift(STACK);
  expect(second.metrics.map((m) => m.DriftedSettings)).toEqual([0]);
});
