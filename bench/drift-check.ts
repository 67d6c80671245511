/**
 * `npm run bench` (issue 18): the drift check of 250 templates, as its
 * schedule runs it: the BUNDLED handler, one invocation with the real Lambda
 * timeout and production timing, against the local fakes over HTTP on
 * 127.0.0.1 (no AWS), with IoT throttling above 10 requests/s (template and
 * tagging calls share the limit). Reports IoT calls per template and the
 * wall time against the floor (the accepted IoT calls at 10 per second) and
 * against the Lambda timeout. Output: markdown on stdout, also written to
 * bench/drift-check.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TIMING } from '../lib/timing';
import { awsEnv, freshBundledHandler, settings, setEnv } from '../test/support/cfn';
import { createEvent, lambdaContext } from '../test/support/events';
import { FakeCloudFormationApi } from '../test/support/fake-cfn-api';
import { FakeCloudFormation } from '../test/support/fake-cfn-responses';
import { AS_IT_WAS, FakeIot, functionArn, roleArn } from '../test/support/fake-iot';

const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/FleetStack/11111111-0000-4000-8000-000000000000';
const TEMPLATES = 250;
const IOT_RATE = 10;
const DRIFTED = 25;

async function main(): Promise<void> {
  const [iot, cfn, cfnApi] = [
    await FakeIot.start(),
    await FakeCloudFormation.start(),
    await FakeCloudFormationApi.start(),
  ];
  const production = Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith('SETTINGS_'))
      .map((k) => [k, undefined]),
  );
  const restoreEnv = setEnv({ ...awsEnv(iot, cfnApi), ...production });
  const saved = { log: console.log, write: process.stdout.write.bind(process.stdout) };
  const metrics: Array<{ TemplateName: string; DriftedSettings: number }> = [];
  try {
    console.log = () => undefined;
    const handler = freshBundledHandler();
    const names = Array.from({ length: TEMPLATES }, (_, i) => `fleet-${String(i).padStart(3, '0')}`);
    // Deploy 250 templates with a drift check (not throttled: the deployment is not what is measured).
    for (const [i, name] of names.entries()) {
      iot.putTemplate(name, AS_IT_WAS);
      const props = settings({
        TemplateName: name,
        Description: 'managed',
        Enabled: 'true',
        DefaultVersionId: '2',
        ProvisioningRoleArn: roleArn('StackProvisioningRole'),
        PreProvisioningHook: { TargetArn: functionArn('DeviceCheck'), PayloadVersion: '2020-04-01' },
        Drift: 'report',
      });
      const event = { ...createEvent(props, (id) => cfn.responseUrl(id), `Settings${i}`), StackId: STACK_ID };
      cfnApi.setStatus(event.LogicalResourceId, 'CREATE_IN_PROGRESS');
      await handler(event, lambdaContext(TIMING.handlerTimeoutMs));
      cfnApi.setStatus(event.LogicalResourceId, 'CREATE_COMPLETE');
      cfnApi.physicalIds.set(event.LogicalResourceId, name);
      if (i < DRIFTED) iot.modifyTemplate(name, { preProvisioningHook: undefined });
    }
    cfnApi.stacks.set(STACK_ID, { status: 'UPDATE_COMPLETE' });
    const [iotFrom, tagFrom] = [iot.requests.length, iot.tagRequests.length];
    iot.throttleAbove(IOT_RATE);

    process.stdout.write = ((chunk: string) => {
      if (String(chunk).startsWith('{"_aws"')) metrics.push(JSON.parse(String(chunk)));
      return true;
    }) as typeof process.stdout.write;
    const started = Date.now();
    let error: unknown;
    await (handler as unknown as (e: object, c: unknown) => Promise<void>)(
      { driftCheck: STACK_ID },
      lambdaContext(TIMING.handlerTimeoutMs),
    ).catch((e: unknown) => (error = e));
    const wallMs = Date.now() - started;
    process.stdout.write = saved.write;
    console.log = saved.log;

    const sent = iot.requests.length - iotFrom + (iot.tagRequests.length - tagFrom);
    const accepted =
      iot.requests.slice(iotFrom).filter((r) => r.outcome !== 'throttled').length +
      iot.tagRequests.slice(tagFrom).filter((r) => r.status !== 400).length;
    const floorMs = (accepted / IOT_RATE) * 1000;
    const reported = metrics.filter((m) => m.DriftedSettings > 0).length;
    const lines = [
      `# Drift check of ${TEMPLATES} templates, IoT throttling above ${IOT_RATE} requests/s (issue 18)`,
      '',
      '- command: `npm run bench` (this part: `npx tsx bench/drift-check.ts` after `npm run build`): the bundled handler, one scheduled invocation, production timing, against the local fakes on 127.0.0.1',
      `- templates checked (a metric line each): ${metrics.length} / ${TEMPLATES}; reported drifted: ${reported} (${DRIFTED} had their hook removed)`,
      `- IoT calls accepted: ${accepted} = ${(accepted / TEMPLATES).toFixed(2)} per template (target <= 2); sent ${sent}, throttled ${sent - accepted}`,
      `- wall time: ${(wallMs / 1000).toFixed(1)} s; floor ${(floorMs / 1000).toFixed(1)} s (${accepted} calls at ${IOT_RATE}/s): ratio ${(wallMs / floorMs).toFixed(2)}`,
      `- Lambda timeout: ${TIMING.handlerTimeoutMs / 1000} s: the check used ${((100 * wallMs) / TIMING.handlerTimeoutMs).toFixed(0)} % of it`,
      `- ended with: ${error === undefined ? 'success' : String(error)}`,
      '',
      `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, ${os.platform()} ${os.release()}`,
      `Date: ${new Date().toUTCString()}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    fs.writeFileSync(path.join(__dirname, 'drift-check.md'), `${lines.join('\n')}\n`);
    if (metrics.length !== TEMPLATES || reported !== DRIFTED || accepted > 2 * TEMPLATES || error !== undefined) {
      process.exitCode = 1;
    }
  } finally {
    process.stdout.write = saved.write;
    console.log = saved.log;
    restoreEnv();
    await iot.close();
    await cfn.close();
    await cfnApi.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
