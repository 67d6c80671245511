/**
 * The command refuses before it creates anything: without the confirmation
 * flag, in CI, or without credentials (a real subprocess, offline), and the
 * SDK clients it builds honour the standard endpoint variables (checked
 * against a server on 127.0.0.1).
 */
import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { ListProvisioningTemplatesCommand } from '@aws-sdk/client-iot';
import { deployArgs } from '../../scripts/verify-aws/cdk';
import { makeClients } from '../../scripts/verify-aws/clients';
import { newRunPrefix, runNames } from '../../scripts/verify-aws/names';
import { CONFIRM_FLAG, parseOptions, refusedEnvironment } from '../../scripts/verify-aws/options';
import { resolveTarget } from '../../scripts/verify-aws/run';

const ROOT = path.join(__dirname, '..', '..');

/** Runs the command as `npm run verify:aws` does (without the bundling), offline. */
function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const base = { ...process.env };
  for (const key of ['CI', 'JEST_WORKER_ID', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE'])
    delete base[key];
  const result = spawnSync(
    path.join(ROOT, 'node_modules', '.bin', 'tsx'),
    [path.join(ROOT, 'scripts', 'verify-aws', 'main.ts'), ...args],
    {
      cwd: ROOT,
      env: { ...base, AWS_EC2_METADATA_DISABLED: 'true', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('the command line', () => {
  test('without the confirmation flag it refuses, says how to confirm, and exits 2', () => {
    const { code, out } = cli(['--region', 'eu-west-1']);
    expect(code).toBe(2);
    expect(out).toContain(`Add ${CONFIRM_FLAG} to confirm. Nothing was created.`);
  }, 60_000);

  test('without credentials it stops at STS GetCallerIdentity with a clear message and exits 2', () => {
    const { code, out } = cli(['--region', 'eu-west-1', CONFIRM_FLAG]);
    expect(code).toBe(2);
    expect(out).toMatch(/Could not resolve your AWS account with STS GetCallerIdentity in eu-west-1: .*credentials/i);
    expect(out).toContain('Nothing was created.');
    expect(out).not.toContain('Run prefix');
  }, 60_000);

  test('in CI it refuses even with the flag', () => {
    const { code, out } = cli(['--region', 'eu-west-1', CONFIRM_FLAG], { CI: 'true' });
    expect(code).toBe(2);
    expect(out).toContain('Refusing to run in CI');
  }, 60_000);

  test.each([
    [[], /Add --yes-create-resources/],
    [['--bogus', CONFIRM_FLAG], /Unknown argument "--bogus"/],
    [['--cleanup', '--prefix', 'prod-', CONFIRM_FLAG], /--prefix must be ptsverify-/],
    [['--prefix', 'ptsverify-0123abcd', CONFIRM_FLAG], /--prefix applies to --cleanup only/],
  ])('parseOptions(%j) is refused', (argv, message) => {
    const options = parseOptions(argv);
    expect('error' in options && options.error).toMatch(message);
  });

  test('parseOptions accepts a run and a cleanup', () => {
    expect(parseOptions(['--region=eu-west-1', CONFIRM_FLAG])).toEqual({
      mode: 'verify',
      region: 'eu-west-1',
      prefix: 'ptsverify-',
    });
    expect(parseOptions(['--cleanup', '--prefix', 'ptsverify-0123abcd', CONFIRM_FLAG])).toEqual({
      mode: 'cleanup',
      region: undefined,
      prefix: 'ptsverify-0123abcd',
    });
  });

  test('refusedEnvironment: CI and test runners, not a shell', () => {
    expect(refusedEnvironment({ CI: 'true' })).toMatch(/CI/);
    expect(refusedEnvironment({ JEST_WORKER_ID: '1' })).toMatch(/test runner/);
    expect(refusedEnvironment({ CI: 'false' })).toBeUndefined();
  });

  test('run prefixes are unique and every name starts with one', () => {
    const a = newRunPrefix();
    expect(a).toMatch(/^ptsverify-[0-9a-f]{8}$/);
    expect(newRunPrefix()).not.toBe(a);
    for (const name of Object.values(runNames(a))) expect(name.startsWith(a)).toBe(true);
    expect(() => runNames('ptsverify-')).toThrow(/Not a run prefix/);
  });
});

describe('endpoints', () => {
  let server: http.Server;
  let seen: { host?: string; url?: string; body: string }[];
  let endpoint: string;

  beforeAll(async () => {
    seen = [];
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ host: req.headers.host, url: req.url, body });
        if (body.includes('Action=GetCallerIdentity')) {
          res.setHeader('content-type', 'text/xml');
          res.end(
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
              '<Arn>arn:aws:iam::444455556666:user/local</Arn><UserId>AIDA</UserId><Account>444455556666</Account>' +
              '</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
          );
          return;
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ templates: [{ templateName: 'from-the-local-endpoint' }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  afterEach(() => {
    delete process.env.AWS_ENDPOINT_URL_IOT;
    delete process.env.AWS_ENDPOINT_URL_STS;
  });

  test('AWS_ENDPOINT_URL_IOT sends the IoT calls to that endpoint', async () => {
    process.env.AWS_ENDPOINT_URL_IOT = endpoint;
    const out = await makeClients('eu-west-1').iot.send(new ListProvisioningTemplatesCommand({}));
    expect(out.templates?.[0]?.templateName).toBe('from-the-local-endpoint');
    expect(seen.at(-1)?.url).toMatch(/^\/provisioning-templates/);
  });

  test('AWS_ENDPOINT_URL_STS sends the account check there: the run resolves the local account', async () => {
    process.env.AWS_ENDPOINT_URL_STS = endpoint;
    const target = await resolveTarget(makeClients('eu-west-1'));
    expect(target).toEqual({
      account: '444455556666',
      partition: 'aws',
      region: 'eu-west-1',
      identity: 'arn:aws:iam::444455556666:user/local',
    });
  });

  test('without an endpoint variable for the service, the SDK uses AWS_ENDPOINT_URL (a closed port in tests)', async () => {
    const target = await resolveTarget(makeClients('eu-west-1'));
    expect('error' in target && target.error).toMatch(/Could not resolve your AWS account/);
  });
});

test('cdk deploy: one stack only, the phase as context, no approval prompt, the app run with tsx', () => {
  const args = deployArgs(
    'Main',
    {
      prefix: 'ptsverify-0123abcd',
      account: '111122223333',
      region: 'eu-west-1',
      main: 'failed-update',
      ext: 'create',
      versionId: 3,
    },
    '/tmp/out',
  );
  expect(args.slice(0, 2)).toEqual(['deploy', 'Main']);
  expect(args[args.indexOf('--app') + 1]).toMatch(/^"\S*node_modules\/.bin\/tsx" "\S*scripts\/verify-aws\/app\.ts"$/);
  const context = args.flatMap((a, i) => (args[i - 1] === '--context' ? [a] : []));
  expect(context).toEqual([
    'verify:prefix=ptsverify-0123abcd',
    'verify:account=111122223333',
    'verify:region=eu-west-1',
    'verify:main=failed-update',
    'verify:ext=create',
    'verify:version=3',
  ]);
  expect(args).toEqual(
    expect.arrayContaining(['--exclusively', '--require-approval', 'never', '--output', '/tmp/out']),
  );
});
