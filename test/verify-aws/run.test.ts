/**
 * The whole plan of `npm run verify:aws` against a mocked AWS (fake-aws.ts):
 * every step runs and prints its checks, everything is cleaned up, and a
 * failure injected into any step, or an interrupt, still ends with nothing
 * left behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { STEPS } from '../../scripts/verify-aws/plan';
import { RunDeps, verify } from '../../scripts/verify-aws/run';
import { FakeAws } from './fake-aws';

const PREFIX = 'ptsverify-0badc0de';
const OPTIONS = { mode: 'verify' as const, prefix: 'ptsverify-', region: 'eu-west-1' };

/** Every check id the plan prints, in order. */
const CHECK_IDS = [
  'create.settings',
  'create.permission',
  'create.tags',
  'hook-runs.allowed',
  'hook-runs.answer-honoured',
  'hook-runs.refused',
  'hook-runs.invoked',
  'cfn-update.tags',
  'cfn-update.settings',
  'rename.hook',
  'rename.owner',
  'rename.permission',
  'update.setting',
  'update.hook',
  'update.permission',
  'failed-update.failed',
  'failed-update.rollback',
  'failed-create.failed',
  'failed-create.rollback',
  'delete.created',
  'delete.hook',
  'delete.tags',
  'delete.kept',
  'limits.logs',
  'limits.throttling',
  'limits.retries',
  'cleanup.nothing-left',
];

async function runAgainst(world: FakeAws, extra: Partial<RunDeps> = {}): Promise<{ code: number; lines: string[] }> {
  const { clients, restore } = world.mockSdk();
  const lines: string[] = [];
  const controller = new AbortController();
  const ledgerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-aws-ledger-'));
  try {
    const code = await verify(OPTIONS, {
      clients,
      cdk: world.cdk,
      connect: world.connect,
      print: (line) => {
        lines.push(line);
        const step = /^> ([\w-]+):/.exec(line);
        if (step) world.currentStep = step[1];
      },
      signal: controller.signal,
      wait: { sleep: async () => undefined, pollMs: 0, timeoutMs: 60_000 },
      prefix: PREFIX,
      ledgerDir,
      ...extra,
    });
    // A clean run removes its ledger; one with leftovers keeps it for --cleanup.
    expect(fs.readdirSync(ledgerDir)).toEqual(world.leftovers().length ? [`${PREFIX}.json`] : []);
    return { code, lines };
  } finally {
    restore();
    fs.rmSync(ledgerDir, { recursive: true, force: true });
  }
}

const statusOf = (lines: string[], id: string) => lines.find((l) => l.split(/\s+/)[1] === id)?.split(/\s+/)[0];

describe('verify:aws against a mocked AWS', () => {
  test('the full plan runs, prints every check as passed, and leaves nothing behind', async () => {
    const world = new FakeAws(PREFIX);
    const { code, lines } = await runAgainst(world);
    const printed = lines.filter((l) => /^(PASS|FAIL|INFO) /.test(l)).map((l) => l.split(/\s+/)[1]);
    expect(printed).toEqual(CHECK_IDS);
    for (const id of CHECK_IDS.filter((i) => !i.startsWith('limits.')))
      expect([id, statusOf(lines, id)]).toEqual([id, 'PASS']);
    expect(lines).toContainEqual(expect.stringMatching(/^INFO limits\.throttling +2 throttled attempt\(s\) retried$/));
    expect(code).toBe(0);
    expect(lines).not.toContain('> handler logs, for the report (the cleanup deletes them)');
    expect(world.leftovers()).toEqual([]);
    expect(lines.at(-1)).toBe(`verify:aws ${PREFIX}: 24 checks passed, 0 failed, 3 reported`);
  });

  test('the plan and its cost are printed before anything is created', async () => {
    const world = new FakeAws(PREFIX);
    const { lines } = await runAgainst(world);
    const firstStep = lines.findIndex((l) => l.startsWith('> create:'));
    const plan = lines.slice(0, firstStep).join('\n');
    expect(plan).toMatch(/Account 111122223333, region eu-west-1/);
    expect(plan).toMatch(/Cost: a few cents at most/);
    for (const step of STEPS) expect(plan).toContain(`${step.name}: ${step.title}`);
    const firstWrite = world.calls.findIndex((c) => /deploy|Create/.test(c));
    expect(world.calls.slice(0, firstWrite).every((c) => /Describe|GetCallerIdentity/.test(c))).toBe(true);
  });

  test('a check that fails is reported and the run still cleans up', async () => {
    const world = new FakeAws(PREFIX);
    const deploy = world.cdk.deploy;
    // CloudFormation's update of the template drops the construct's tags.
    world.cdk.deploy = async (id, props, signal) => {
      const result = await deploy(id, props, signal);
      if (props.main === 'body' && id === 'Main') world.templates.get(world.names.template)!.tags = {};
      return result;
    };
    const { code, lines } = await runAgainst(world);
    expect(statusOf(lines, 'cfn-update.tags')).toBe('FAIL');
    // The handler's log is printed for the report before the cleanup deletes it.
    const logAt = lines.indexOf('> handler logs, for the report (the cleanup deletes them)');
    expect(logAt).toBeGreaterThan(lines.findIndex((l) => l.startsWith('INFO limits.retries')));
    expect(lines[logAt + 1]).toMatch(
      /^ {4}handler log ptsverify-0badc0de-main-IoTProvisioningTemplateSettings\S+ \(last \d+ lines\):$/,
    );
    expect(logAt).toBeLessThan(lines.findIndex((l) => l.startsWith('> cleanup')));
    expect(statusOf(lines, 'cleanup.nothing-left')).toBe('PASS');
    expect(code).toBe(1);
    expect(world.leftovers()).toEqual([]);
  });

  // The parameterised test over every step: the first AWS call (or CDK
  // deployment, or MQTT connection) of the step fails.
  test.each(STEPS.map((s) => s.name))(
    'a failure injected in step %s stops the plan and cleans up everything',
    async (step) => {
      const world = new FakeAws(PREFIX);
      world.failIn = step;
      const { code, lines } = await runAgainst(world);
      expect(world.calls.some((c) => c.startsWith(`${step}:`))).toBe(true);
      expect(lines).toContainEqual(
        expect.stringMatching(new RegExp(`^FAIL ${step} +step failed: injected failure in ${step}`)),
      );
      const index = STEPS.findIndex((s) => s.name === step);
      for (const later of STEPS.slice(index + 1))
        expect(lines).not.toContainEqual(expect.stringMatching(new RegExp(`^> ${later.name}:`)));
      expect(lines).toContain(`stopped at ${step}; the remaining steps did not run.`);
      expect(statusOf(lines, 'cleanup.nothing-left')).toBe('PASS');
      expect(world.leftovers()).toEqual([]);
      expect(code).toBe(1);
    },
  );

  test('an interrupt (SIGINT/SIGTERM abort) stops the plan, cleans up, and exits 130', async () => {
    const world = new FakeAws(PREFIX);
    const controller = new AbortController();
    const deploy = world.cdk.deploy;
    world.cdk.deploy = async (id, props, signal) => {
      const result = await deploy(id, props, signal);
      if (props.main === 'rename') controller.abort();
      return result;
    };
    const { code, lines } = await runAgainst(world, { signal: controller.signal });
    expect(lines).toContain('interrupted before update; the remaining steps did not run.');
    expect(statusOf(lines, 'cleanup.nothing-left')).toBe('PASS');
    expect(world.leftovers()).toEqual([]);
    expect(code).toBe(130);
  });

  test('without credentials nothing is called but STS, and the message says why', async () => {
    const world = new FakeAws(PREFIX);
    world.credentials = false;
    const { clients, restore } = world.mockSdk();
    const lines: string[] = [];
    try {
      const code = await verify(OPTIONS, {
        clients,
        cdk: world.cdk,
        connect: world.connect,
        print: (l) => lines.push(l),
        signal: new AbortController().signal,
        wait: { sleep: async () => undefined, pollMs: 0, timeoutMs: 1 },
        prefix: PREFIX,
      });
      expect(code).toBe(2);
    } finally {
      restore();
    }
    expect(lines.join('\n')).toMatch(
      /Could not resolve your AWS account .*Could not load credentials.*Nothing was created\./s,
    );
    expect(world.calls).toEqual([':GetCallerIdentityCommand']);
  });
});
