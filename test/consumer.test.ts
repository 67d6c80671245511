/**
 * The package works for someone who installs it: `npm pack` the package,
 * install the tarball into a fresh CDK app in a temporary folder, synthesize a
 * stack that uses the construct with plain `node` (no TypeScript), and find
 * the bundled handler in the cloud assembly.
 *
 * Offline and quick: npm installs only the tarball (`--offline`, with the
 * registry pointed at a closed local port in case anything tried to fetch),
 * and the app's aws-cdk-lib and constructs are links to this repository's
 * node_modules, standing in for the user's own copies of the peer
 * dependencies. Needs the build (`npm run build`) to have run.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).name as string;
const OFFLINE_NPM = ['--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--registry=http://127.0.0.1:9/'];

/** The consumer's app, written as a user would in JavaScript. */
const APP_JS = `
const { App, Stack } = require('aws-cdk-lib');
const iam = require('aws-cdk-lib/aws-iam');
const lambda = require('aws-cdk-lib/aws-lambda');
const { ProvisioningHook, ProvisioningTemplateSettings } = require('${PACKAGE}');

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'Consumer', { env: { account: '111122223333', region: 'eu-west-1' } });
const hook = lambda.Function.fromFunctionArn(stack, 'Hook', 'arn:aws:lambda:eu-west-1:111122223333:function:device-check');
new ProvisioningTemplateSettings(stack, 'Settings', {
  templateName: 'sensor-fleet',
  enabled: true,
  provisioningRole: iam.Role.fromRoleArn(stack, 'Role', 'arn:aws:iam::111122223333:role/fleet-provisioning'),
  preProvisioningHook: ProvisioningHook.fromFunction(hook),
});
app.synth();
console.log(JSON.stringify({ loadedFrom: require.resolve('${PACKAGE}') }));
`;

let work: string;
let appDir: string;
let outdir: string;
let installedDir: string;
let appOutput: { loadedFrom: string };

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const { NODE_OPTIONS: _ignored, ...inherited } = process.env;
  return execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...inherited, npm_config_update_notifier: 'false', npm_config_loglevel: 'error', ...env },
    timeout: 120_000,
  });
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'consumer-test-'));
  appDir = path.join(work, 'app');
  outdir = path.join(work, 'cdk.out');
  fs.mkdirSync(appDir);

  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT));
  const tarball = path.join(work, packed.filename);

  fs.writeFileSync(
    path.join(appDir, 'package.json'),
    JSON.stringify({ name: 'consumer-app', version: '1.0.0', private: true }),
  );
  // --legacy-peer-deps: npm must not fetch aws-cdk-lib and constructs; the app brings its own (linked below).
  run('npm', ['install', ...OFFLINE_NPM, '--legacy-peer-deps', tarball], appDir);
  for (const peer of ['aws-cdk-lib', 'constructs']) {
    fs.symlinkSync(path.join(ROOT, 'node_modules', peer), path.join(appDir, 'node_modules', peer), 'dir');
  }
  installedDir = path.join(appDir, 'node_modules', PACKAGE);

  fs.writeFileSync(path.join(appDir, 'app.js'), APP_JS);
  const out = run(process.execPath, ['app.js', outdir], appDir).trim().split('\n');
  appOutput = JSON.parse(out[out.length - 1]);
}, 300_000);

afterAll(() => {
  if (work) {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

describe('a CDK app that installs the packed package', () => {
  test('loads the construct from the installed tarball, not from this repository', () => {
    expect(fs.realpathSync(appOutput.loadedFrom)).toBe(fs.realpathSync(path.join(installedDir, 'lib', 'index.js')));
    expect(fs.existsSync(path.join(installedDir, 'assets', 'handler', 'index.js'))).toBe(true);
  });

  test('synthesizes the custom resource and a handler whose code asset is in cdk.out', () => {
    const template = JSON.parse(fs.readFileSync(path.join(outdir, 'Consumer.template.json'), 'utf8'));
    const resources = Object.values(template.Resources) as { Type: string; Properties: any }[];
    expect(resources.filter((r) => r.Type === 'Custom::IoTProvisioningTemplateSettings')).toHaveLength(1);

    const handlers = resources.filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(handlers).toHaveLength(1);
    const handler = handlers[0].Properties;
    expect(handler.Handler).toBe('index.handler');
    const hash = String(handler.Code.S3Key).replace(/\.zip$/, '');

    // The asset manifest points at a staged directory holding the bundled handler, byte for byte as packed.
    const assets = JSON.parse(fs.readFileSync(path.join(outdir, 'Consumer.assets.json'), 'utf8'));
    expect(assets.files[hash].source).toEqual({ path: `asset.${hash}`, packaging: 'zip' });
    const staged = path.join(outdir, `asset.${hash}`);
    expect(fs.readdirSync(staged)).toEqual(['index.js']);
    expect(fs.readFileSync(path.join(staged, 'index.js'))).toEqual(
      fs.readFileSync(path.join(installedDir, 'assets', 'handler', 'index.js')),
    );
  });

  test('the staged handler is a loadable module exporting the handler', () => {
    const hash = fs.readdirSync(outdir).find((f) => f.startsWith('asset.'))!;
    // @aws-sdk/* is external to the bundle (the Lambda runtime provides it); borrow this repository's copy.
    const out = run(
      process.execPath,
      ['-e', `console.log(typeof require(${JSON.stringify(path.join(outdir, hash, 'index.js'))}).handler)`],
      appDir,
      { NODE_PATH: path.join(ROOT, 'node_modules') },
    );
    expect(out.trim()).toBe('function');
  });
});
