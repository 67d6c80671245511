/**
 * `npm run bench:calls` (issues 13 and 16, "Cost stays visible"): what the BUNDLED
 * handler (assets/handler/index.js) costs in API calls, against the local
 * fakes of the test harness over real HTTP on 127.0.0.1 (no AWS).
 *
 * 1. Calls per event type: one resource with Description, Enabled,
 *    DefaultVersionId, ProvisioningRoleArn and PreProvisioningHook, and the
 *    IoT and CloudFormation API calls each event makes, by operation.
 * 2. 250 templates at once: 250 Creates in parallel, each in its own handler
 *    module instance (one Lambda sandbox each), against IoT throttling above
 *    10 requests/s (template and tagging calls share the limit); the
 *    CloudFormation API is not throttled. Wall time against the floor: the
 *    IoT calls IoT accepted, at 10 per second.
 *
 * The handler's production timing (no SETTINGS_* overrides) and Lambda
 * timeout. Output: markdown on stdout, also written to bench/handler-calls.md.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TIMING } from '../lib/timing';
import { awsEnv, freshBundledHandler, Handler, settings, setEnv } from '../test/support/cfn';
import { createEvent, deleteEvent, lambdaContext, updateEvent } from '../test/support/events';
import { FakeCloudFormationApi } from '../test/support/fake-cfn-api';
import { CloudFormationResponseBody, FakeCloudFormation } from '../test/support/fake-cfn-responses';
import { EARLIER, FakeIot, functionArn, roleArn } from '../test/support/fake-iot';
import type { SettingsProperties } from '../lib/handler-contract';

const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/FleetStack/11111111-0000-4000-8000-000000000000';
const TEMPLATES = 250;
const IOT_RATE = 10;
const TARGET_RATIO = 1.5;

const props = (name: string, overrides: Partial<SettingsProperties> = {}): SettingsProperties =>
  settings({
    TemplateName: name,
    Description: 'managed',
    Enabled: 'true',
    DefaultVersionId: '2',
    ProvisioningRoleArn: roleArn('StackProvisioningRole'),
    PreProvisioningHook: { TargetArn: functionArn('DeviceCheck'), PayloadVersion: '2020-04-01' },
    ...overrides,
  });

const report: string[] = [];

function print(text = ''): void {
  report.push(text);
  process.stdout.write(`${text}\n`);
}

/** Accepted requests of a fake (LocalServer keeps them for its rate limit). */
function acceptedCount(server: FakeIot | FakeCloudFormationApi): number {
  return (server as unknown as { accepted: number[] }).accepted.length;
}

interface Counts {
  readonly iot: Record<string, number>;
  readonly cfn: Record<string, number>;
}

async function main(): Promise<void> {
  const iot = await FakeIot.start();
  const cfn = await FakeCloudFormation.start();
  const cfnApi = await FakeCloudFormationApi.start();
  const production = Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith('SETTINGS_'))
      .map((k) => [k, undefined]),
  );
  const restoreEnv = setEnv({ ...awsEnv(iot, cfnApi), ...production });
  // The handler logs a JSON line per step: not wanted on the bench's stdout.
  const saved = { log: console.log, info: console.info, warn: console.warn, error: console.error };
  const silence = () => {
    console.log = console.info = console.warn = console.error = () => undefined;
  };
  const restoreConsole = () => Object.assign(console, saved);
  silence();

  /** Deliver one event as CloudFormation would (resource status *_IN_PROGRESS meanwhile); its accepted answer. */
  async function send(
    handler: Handler,
    event: CloudFormationCustomResourceEvent,
  ): Promise<CloudFormationResponseBody | undefined> {
    const operation = event.RequestType.toUpperCase();
    cfnApi.setStatus(event.LogicalResourceId, `${operation}_IN_PROGRESS`);
    await handler(event, lambdaContext(TIMING.handlerTimeoutMs));
    const response = cfn.responseTo(event.RequestId);
    if (response) {
      cfnApi.setStatus(
        event.LogicalResourceId,
        `${operation}_${response.Status === 'SUCCESS' ? 'COMPLETE' : 'FAILED'}`,
      );
    }
    return response;
  }

  /** Send one event and count the calls it made, by operation. */
  async function counted(handler: Handler, event: CloudFormationCustomResourceEvent): Promise<Counts> {
    const [iotFrom, tagFrom, cfnFrom] = [iot.requests.length, iot.tagRequests.length, cfnApi.requests.length];
    const response = await send(handler, event);
    if (response?.Status !== 'SUCCESS') {
      throw new Error(`${event.RequestType} ${event.LogicalResourceId}: ${JSON.stringify(response)}`);
    }
    const iotCounts: Record<string, number> = {};
    for (const r of iot.requests.slice(iotFrom)) {
      const op = r.method === 'GET' ? 'DescribeProvisioningTemplate' : 'UpdateProvisioningTemplate';
      iotCounts[op] = (iotCounts[op] ?? 0) + 1;
    }
    for (const r of iot.tagRequests.slice(tagFrom)) iotCounts[r.operation] = (iotCounts[r.operation] ?? 0) + 1;
    const cfnCounts: Record<string, number> = {};
    for (const r of cfnApi.requests.slice(cfnFrom)) cfnCounts[r.action] = (cfnCounts[r.action] ?? 0) + 1;
    return { iot: iotCounts, cfn: cfnCounts };
  }

  const inStack = <E extends CloudFormationCustomResourceEvent>(event: E): E => ({ ...event, StackId: STACK_ID });
  const url = (requestId: string) => cfn.responseUrl(requestId);
  const seed = (name: string) => iot.putTemplate(name, EARLIER);

  const rows: Array<[string, Counts]> = [];
  try {
    // --- 1. Calls per event type -----------------------------------------
    const handler = freshBundledHandler();

    // Create, then Update (one setting changed), then plain removal in the cleanup.
    seed('Plain');
    const p1 = props('Plain');
    cfnApi.stackStatus = 'CREATE_IN_PROGRESS';
    rows.push(['Create', await counted(handler, inStack(createEvent(p1, url, 'Settings')))]);
    const p2 = props('Plain', { Description: 'managed, changed' });
    cfnApi.stackStatus = 'UPDATE_IN_PROGRESS';
    rows.push([
      'Update (one setting changed)',
      await counted(handler, inStack(updateEvent('Plain', p2, p1, url, 'Settings'))),
    ]);
    cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    rows.push([
      'Delete in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, resource owns the template (plain removal)',
      await counted(handler, inStack(deleteEvent('Plain', p2, url, 'Settings'))),
    ]);

    // Takeover by a new logical id, then the old resource's Delete in the cleanup.
    seed('Takeover');
    const pt = props('Takeover');
    cfnApi.stackStatus = 'UPDATE_IN_PROGRESS';
    await counted(handler, inStack(createEvent(pt, url, 'SettingsOld')));
    rows.push([
      'Create taking over a template another resource owns (new logical id)',
      await counted(handler, inStack(createEvent(pt, url, 'SettingsNew'))),
    ]);
    cfnApi.stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    rows.push([
      'Delete of a resource whose template another resource owns (after the takeover)',
      await counted(handler, inStack(deleteEvent('Takeover', pt, url, 'SettingsOld'))),
    ]);

    // A failed first deploy: the Create succeeded, the rollback deletes it and restores.
    const before = seed('Rollback');
    const pr = props('Rollback');
    cfnApi.stackStatus = 'CREATE_IN_PROGRESS';
    await counted(handler, inStack(createEvent(pr, url, 'SettingsR')));
    cfnApi.stackStatus = 'ROLLBACK_IN_PROGRESS';
    rows.push([
      'Delete in ROLLBACK_IN_PROGRESS (failed first deploy: restore)',
      await counted(handler, inStack(deleteEvent('Rollback', pr, url, 'SettingsR'))),
    ]);
    if (JSON.stringify(iot.template('Rollback')) !== JSON.stringify(before)) {
      throw new Error('the rollback Delete did not restore the template');
    }

    // An Update that starts managing the hook (it records first), and its rollback (which restores it).
    seed('Adds');
    const pa = props('Adds', { PreProvisioningHook: undefined });
    const pb = props('Adds');
    cfnApi.stackStatus = 'UPDATE_IN_PROGRESS';
    await counted(handler, inStack(createEvent(pa, url, 'SettingsA')));
    rows.push([
      'Update that starts managing a setting (the hook): a record first',
      await counted(handler, inStack(updateEvent('Adds', pb, pa, url, 'SettingsA'))),
    ]);
    cfnApi.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
    rows.push([
      'Update in UPDATE_ROLLBACK_IN_PROGRESS back from it: the hook the template had, from the record',
      await counted(handler, inStack(updateEvent('Adds', pa, pb, url, 'SettingsA'))),
    ]);

    // A nested stack deleted by its root's rollback: one more CloudFormation call, the root's status.
    const nested = STACK_ID.replace('FleetStack/1111', 'FleetStack-Devices-N1/3333');
    seed('Nested');
    const pn = props('Nested');
    cfnApi.stackStatus = 'UPDATE_IN_PROGRESS';
    await counted(handler, { ...createEvent(pn, url, 'SettingsN'), StackId: nested });
    cfnApi.stacks.set(nested, { status: 'DELETE_IN_PROGRESS', rootId: STACK_ID });
    cfnApi.stacks.set(STACK_ID, { status: 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS' });
    rows.push([
      "Delete in a nested stack that its root's rollback deletes (restore)",
      await counted(handler, { ...deleteEvent('Nested', pn, url, 'SettingsN'), StackId: nested }),
    ]);

    // --- 2. 250 templates at once ------------------------------------------
    iot.reset();
    cfn.reset();
    cfnApi.reset();
    cfnApi.stackStatus = 'CREATE_IN_PROGRESS';
    const names = Array.from({ length: TEMPLATES }, (_, i) => `fleet-${String(i).padStart(3, '0')}`);
    for (const name of names) seed(name);
    iot.throttleAbove(IOT_RATE);
    const handlers = names.map(() => freshBundledHandler());
    const started = Date.now();
    const results = await Promise.all(
      names.map(async (name, i) => {
        const response = await send(handlers[i], inStack(createEvent(props(name), url, `Settings${i}`)));
        return { response, doneAt: Date.now() - started };
      }),
    );
    const wallMs = Date.now() - started;
    restoreConsole();

    const success = results.filter((r) => r.response?.Status === 'SUCCESS').length;
    const iotAccepted = acceptedCount(iot);
    const iotSent = iot.requests.length + iot.tagRequests.length;
    const templateThrottled = iot.requests.filter((r) => r.outcome === 'throttled').length;
    const floorMs = (iotAccepted / IOT_RATE) * 1000;
    const ratio = wallMs / floorMs;
    const acceptedByOp: Record<string, number> = {};
    for (const r of iot.requests) {
      if (r.outcome === 'throttled') continue;
      const op = r.method === 'GET' ? 'DescribeProvisioningTemplate' : 'UpdateProvisioningTemplate';
      acceptedByOp[op] = (acceptedByOp[op] ?? 0) + 1;
    }
    // Tag requests are recorded before the rate check; a throttled one answers 400 (no other 400s happen here).
    for (const r of iot.tagRequests) {
      if (r.status === 400) continue;
      acceptedByOp[r.operation] = (acceptedByOp[r.operation] ?? 0) + 1;
    }
    const cfnByAction: Record<string, number> = {};
    for (const r of cfnApi.requests) cfnByAction[r.action] = (cfnByAction[r.action] ?? 0) + 1;
    const doneTimes = results.map((r) => r.doneAt).sort((a, b) => a - b);
    const pct = (q: number) => doneTimes[Math.min(doneTimes.length - 1, Math.floor(q * doneTimes.length))];

    // --- Output --------------------------------------------------------------
    const fmt = (c: Record<string, number>) =>
      Object.entries(c)
        .map(([op, n]) => `${op} ${n}`)
        .join(', ') || '—';
    const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    print('# Handler calls per event, and 250 templates at once (issues 13 and 16)');
    print();
    print(
      '- command: `npm run bench:calls`: the bundled handler over HTTP against the local fakes on 127.0.0.1, ' +
        'production timing (no SETTINGS_* overrides), the real Lambda timeout',
    );
    print();
    print('### Calls per event (one resource, no faults)');
    print();
    print('| Event | IoT calls | CloudFormation API calls | Total |');
    print('| --- | --- | --- | --- |');
    for (const [event, c] of rows) {
      print(`| ${event} | ${sum(c.iot)}: ${fmt(c.iot)} | ${sum(c.cfn)}: ${fmt(c.cfn)} | ${sum(c.iot) + sum(c.cfn)} |`);
    }
    print();
    print(`### ${TEMPLATES} Creates at once, IoT throttling above ${IOT_RATE} requests/s`);
    print();
    print(`- SUCCESS: ${success} / ${TEMPLATES}`);
    print(
      `- wall time: ${(wallMs / 1000).toFixed(1)} s (first answer ${(doneTimes[0] / 1000).toFixed(1)} s, median ${(pct(0.5) / 1000).toFixed(1)} s, p90 ${(pct(0.9) / 1000).toFixed(1)} s)`,
    );
    print(
      `- IoT calls accepted: ${iotAccepted} (${fmt(acceptedByOp)}); sent ${iotSent}, throttled ${iotSent - iotAccepted} (template calls ${templateThrottled})`,
    );
    print(`- peak accepted by IoT in any second: ${iot.peakAcceptedPerSecond}`);
    print(`- CloudFormation API calls (not throttled): ${sum(cfnByAction)} (${fmt(cfnByAction)})`);
    print(`- floor: ${iotAccepted} accepted IoT calls / ${IOT_RATE} per s = ${(floorMs / 1000).toFixed(1)} s`);
    print(
      `- ratio wall / floor: ${ratio.toFixed(2)} (target <= ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'})`,
    );
    print();
    let node = process.version;
    try {
      node = execSync('node -v').toString().trim();
    } catch {
      // process.version it is
    }
    print(
      `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${node}, ${os.platform()} ${os.release()}`,
    );
    print(`Date: ${new Date().toUTCString()}`);
    fs.writeFileSync(path.join(__dirname, 'handler-calls.md'), `${report.join('\n')}\n`);
    if (success !== TEMPLATES) process.exitCode = 1;
  } finally {
    restoreConsole();
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
