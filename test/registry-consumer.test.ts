/**
 * Clean on the aws-cdk-lib users actually have: the packed tarball is
 * installed into two fresh consumer apps together with their peer
 * dependencies and cdk-nag from the npm registry, and each app synthesizes
 * with cdk-nag's AwsSolutions and Serverless packs:
 *
 * - newest: aws-cdk-lib, constructs and cdk-nag at `latest`, as a new
 *   `cdk init` app gets them today;
 * - floor: aws-cdk-lib and constructs at this package's peer floor, with the
 *   cdk-nag of this repository's lockfile.
 *
 * The rest of the suite keeps the lockfile's versions. This is the one test
 * that needs the network: when the registry cannot be reached it fails, saying
 * so (a silent skip would let a broken release through). Bounded in time:
 * each npm call has a timeout, and the two installs run side by side.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const LOCK = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
const INSTALL_TIMEOUT_MS = 240_000;
const PING_TIMEOUT_MS = 30_000;

/** `^2.258.0` → `2.258.0`. */
function floorOf(range: string): string {
  const match = /^\^(\d+\.\d+\.\d+)$/.exec(range);
  if (!match) throw new Error(`peer range ${range} is not of the form ^x.y.z`);
  return match[1];
}

const CONSUMERS = {
  newest: ['aws-cdk-lib@latest', 'constructs@latest', 'cdk-nag@latest'],
  floor: [
    `aws-cdk-lib@${floorOf(PKG.peerDependencies['aws-cdk-lib'])}`,
    `constructs@${floorOf(PKG.peerDependencies.constructs)}`,
    `cdk-nag@${LOCK.packages['node_modules/cdk-nag'].version}`,
  ],
};

/** A user's app: every prop, a same-stack template paired as the README says, both nag packs. */
const APP_JS = `
const fs = require('fs');
const path = require('path');
const { App, Stack, Validations } = require('aws-cdk-lib');
const iam = require('aws-cdk-lib/aws-iam');
const iot = require('aws-cdk-lib/aws-iot');
const lambda = require('aws-cdk-lib/aws-lambda');
const { AwsSolutionsChecks, ServerlessChecks } = require('cdk-nag');
const { DriftCheck, ProvisioningHook, ProvisioningTemplateSettings } = require('${PKG.name}');

const outdir = process.argv[2];
const app = new App({ outdir });
const stack = new Stack(app, 'Consumer', { env: { account: '111122223333', region: 'eu-west-1' } });
const hook = lambda.Function.fromFunctionArn(stack, 'Hook', 'arn:aws:lambda:eu-west-1:111122223333:function:device-check');
const role = iam.Role.fromRoleArn(stack, 'Role', 'arn:aws:iam::111122223333:role/fleet-provisioning', { mutable: false });
const template = new iot.CfnProvisioningTemplate(stack, 'Template', {
  templateType: 'FLEET_PROVISIONING',
  provisioningRoleArn: role.roleArn,
  templateBody: JSON.stringify({ Parameters: {}, Resources: {} }),
});
new ProvisioningTemplateSettings(stack, 'Paired', {
  templateName: template.ref,
  description: 'Sensors',
  enabled: true,
  provisioningRole: role,
  preProvisioningHook: ProvisioningHook.fromFunction(hook),
  driftCheck: DriftCheck.restore(),
});
new ProvisioningTemplateSettings(stack, 'Existing', { templateName: 'existing-fleet', defaultVersionId: 2 });
// The user's own function, pinned to an older runtime: both packs must flag it, so a clean result is not an empty run.
new lambda.Function(stack, 'UserFunction', {
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline('exports.handler = async () => ({})'),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
try {
  app.synth();
} catch (e) {
  // An error-level finding fails synthesis; the report says which.
}
// The file's name changed between aws-cdk-lib releases.
const reportFile = ['validation-report.json', 'policy-validation-report.json'].map((f) => path.join(outdir, f)).find((f) => fs.existsSync(f));
const report = reportFile ? JSON.parse(fs.readFileSync(reportFile, 'utf8')) : { pluginReports: [] };
const cfn = JSON.parse(fs.readFileSync(path.join(outdir, 'Consumer.template.json'), 'utf8'));
const node = lambda.Runtime.ALL.map((r) => /^nodejs(\\d+)\\.x$/.exec(r.name)).filter(Boolean).map((m) => Number(m[1]));
console.log(JSON.stringify({
  versions: { 'aws-cdk-lib': require('aws-cdk-lib/package.json').version, constructs: require('constructs/package.json').version, 'cdk-nag': require('cdk-nag/package.json').version },
  plugins: report.pluginReports.map((p) => ({ name: p.pluginName, error: p.metadata && p.metadata.error })),
  findings: report.pluginReports.flatMap((p) => p.violations.flatMap((v) => v.violatingConstructs.map((c) => ({ rule: v.ruleName, path: c.constructPath })))),
  handlerRuntimes: Object.values(cfn.Resources).filter((r) => r.Type === 'AWS::Lambda::Function' && /IoTProvisioningTemplateSettings/.test(r.Properties.Description)).map((r) => r.Properties.Runtime),
  newestNode: 'nodejs' + Math.max(...node) + '.x',
}));
`;

interface Result {
  versions: Record<string, string>;
  plugins: { name: string; error?: string }[];
  findings: { rule: string; path: string }[];
  handlerRuntimes: string[];
  newestNode: string;
}

const env = (() => {
  const { NODE_OPTIONS: _ignored, ...inherited } = process.env;
  return { ...inherited, npm_config_update_notifier: 'false', npm_config_loglevel: 'error' };
})();

let work: string;
const results: Partial<Record<keyof typeof CONSUMERS, Result>> = {};

async function consumer(name: keyof typeof CONSUMERS, tarball: string): Promise<void> {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true }));
  fs.writeFileSync(path.join(dir, 'app.js'), APP_JS);
  const args = [
    'install',
    '--no-audit',
    '--no-fund',
    '--ignore-scripts',
    '--no-package-lock',
    tarball,
    ...CONSUMERS[name],
  ];
  await run('npm', args, { cwd: dir, env, timeout: INSTALL_TIMEOUT_MS });
  // The app exits non-zero when a finding fails validation; its last line is the result either way.
  const stdout = await run(process.execPath, ['app.js', path.join(dir, 'cdk.out')], {
    cwd: dir,
    env,
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    (r) => r.stdout,
    (e: { stdout?: string; code?: unknown }) => {
      if (typeof e.stdout === 'string' && e.stdout.includes('"versions"')) return e.stdout;
      throw e;
    },
  );
  const lines = stdout.trim().split('\n');
  results[name] = JSON.parse(lines[lines.length - 1]) as Result;
}

beforeAll(
  async () => {
    try {
      await run('npm', ['ping'], { env, timeout: PING_TIMEOUT_MS });
    } catch (e) {
      throw new Error(
        'The npm registry cannot be reached, and this check needs it: it installs the newest aws-cdk-lib, constructs and ' +
          `cdk-nag into a fresh consumer app. Restore network access to the registry (npm config get registry) and run it again.\n${String(e)}`,
      );
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-consumer-'));
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
      cwd: ROOT,
      env,
      timeout: 60_000,
    });
    const tarball = path.join(work, JSON.parse(stdout)[0].filename as string);
    await Promise.all([consumer('newest', tarball), consumer('floor', tarball)]);
    console.log(
      `registry consumers: ${JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r!.versions])))}`,
    );
  },
  2 * INSTALL_TIMEOUT_MS + 60_000,
);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** What the construct creates: the stack's handler and the settings constructs. */
const OURS = ['Consumer/IoTProvisioningTemplateSettingsProvider/', 'Consumer/Paired/', 'Consumer/Existing/'];

describe.each(Object.keys(CONSUMERS) as (keyof typeof CONSUMERS)[])(
  'a fresh consumer on the %s aws-cdk-lib',
  (name) => {
    test('installed what it asked the registry for', () => {
      const { versions } = results[name]!;
      if (name === 'floor') {
        expect(`aws-cdk-lib@${versions['aws-cdk-lib']}`).toBe(CONSUMERS.floor[0]);
        expect(`constructs@${versions.constructs}`).toBe(CONSUMERS.floor[1]);
      } else {
        // No older than what this repository builds with.
        const lockVersion = LOCK.packages['node_modules/aws-cdk-lib'].version as string;
        const [a, b] = [versions['aws-cdk-lib'], lockVersion].map((v) => v.split('.').map(Number));
        expect(a[1] > b[1] || (a[1] === b[1] && a[2] >= b[2])).toBe(true);
      }
    });

    test("cdk-nag's AwsSolutions and Serverless packs ran and find nothing on the construct's resources", () => {
      const { plugins, findings } = results[name]!;
      expect(plugins.map((p) => p.name).sort()).toEqual(['AwsSolutions', 'Serverless']);
      expect(plugins.filter((p) => p.error)).toEqual([]);
      expect(findings.filter((f) => OURS.some((prefix) => f.path.startsWith(prefix)))).toEqual([]);
    });

    test('the handler runs on the newest Node.js runtime that aws-cdk-lib knows', () => {
      const { handlerRuntimes, newestNode } = results[name]!;
      expect(handlerRuntimes).toEqual([newestNode]);
    });
  },
);
