/**
 * What `npm pack` puts in the published package: the compiled construct with
 * its type declarations, the bundled handler, the jsii assembly, README,
 * LICENSE and API.md; and none of the development files (tests, example app,
 * cloud assemblies, handler sources, benchmarks, build scripts).
 *
 * Needs the build (`npm run build`) to have run, as `npm test` does first.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

let files: string[];

beforeAll(() => {
  // --ignore-scripts: list what is packed without running any lifecycle script.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      npm_config_loglevel: 'silent',
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
    },
    timeout: 60_000,
  });
  const [report] = JSON.parse(out);
  files = report.files.map((f: { path: string }) => f.path.split(path.sep).join('/')).sort();
}, 90_000);

/** The construct's modules: every lib/*.ts that is not a declaration file. */
const libModules = fs
  .readdirSync(path.join(ROOT, 'lib'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => f.replace(/\.ts$/, ''));

describe('npm pack', () => {
  test('contains the compiled construct and its type declarations, module by module', () => {
    expect(libModules).toEqual(expect.arrayContaining(['index', 'provider', 'provisioning-template-settings']));
    for (const mod of libModules) {
      expect(files).toContain(`lib/${mod}.js`);
      expect(files).toContain(`lib/${mod}.d.ts`);
    }
    expect(files).toContain(pkg.main);
    expect(files).toContain(pkg.types);
  });

  test('contains the bundled handler, the jsii assembly, README, LICENSE and API.md', () => {
    const required = [
      'assets/handler/index.js',
      'assets/handler.sha256',
      '.jsii',
      'README.md',
      'LICENSE',
      'API.md',
      'package.json',
    ];
    expect(required.filter((file) => !files.includes(file))).toEqual([]);
  });

  test('contains no tests, example app, cloud assembly, handler source, benchmark or build tooling', () => {
    const forbidden = [
      /^test\//,
      /^bin\//,
      /(^|\/)cdk\.out\//,
      /^lambda\//,
      /^bench\//,
      /^scripts\//,
      /^coverage\//,
      /^node_modules\//,
      /^cdk\.json$/,
      /^jest\.config/,
      /^tsconfig/,
      /^eslint\.config/,
      /^\.prettier/,
      /\.tgz$/,
      /\.test\./,
      /^integ\./,
      /\.snapshot\//,
    ];
    const offending = files.filter((f) => forbidden.some((re) => re.test(f)));
    expect(offending).toEqual([]);
    // TypeScript sources stay out; only their declarations ship.
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  test('ships nothing but the listed kinds of files', () => {
    const allowed = [
      /^lib\/[^/]+\.(js|d\.ts)$/,
      /^assets\/handler\/index\.js$/,
      /^assets\/handler\.sha256$/,
      /^\.jsii$/,
      /^(README\.md|LICENSE|API\.md|package\.json)$/,
    ];
    expect(files.filter((f) => !allowed.some((re) => re.test(f)))).toEqual([]);
  });

  test('LICENSE is the Apache License 2.0 text, matching package.json', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const license = fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    expect(license.length).toBeGreaterThan(10_000);
  });

  test('the aws-cdk-lib floor is no lower than the first release with every API the construct uses', () => {
    // The newest APIs the construct relies on, by the aws-cdk-lib release that introduced them:
    //   appConstruct on IPolicyValidationContext  2.258.0  (cdk-nag 3, which reads the construct's
    //                                                       acknowledgements, fails without it; its own
    //                                                       peer range says ^2.257.0; test/registry-consumer.test.ts)
    //   Validations.of(...).acknowledge(...)      2.252.0  (aws/aws-cdk#37668)
    //   lambda.Runtime.NODEJS_24_X                2.224.0  (aws/aws-cdk#36001)
    //   CustomResource serviceTimeout             2.15x    (aws/aws-cdk#30911)
    //   CfnFunction loggingConfig                 <= 2.110.0 (the L2's logGroup came then)
    const FLOOR = [2, 258, 0];
    const range = pkg.peerDependencies['aws-cdk-lib'] as string;
    const match = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range);
    expect(match).not.toBeNull();
    const claimed = match!.slice(1).map(Number);
    const compare = claimed.map((n, i) => n - FLOOR[i]).find((d) => d !== 0) ?? 0;
    expect(compare).toBeGreaterThanOrEqual(0);
  });

  test('aws-cdk-lib and constructs are peer dependencies, not bundled dependencies', () => {
    expect(Object.keys(pkg.peerDependencies ?? {}).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(pkg.dependencies ?? {}).not.toHaveProperty('aws-cdk-lib');
    expect(pkg.dependencies ?? {}).not.toHaveProperty('constructs');
    expect(pkg.bundledDependencies ?? pkg.bundleDependencies).toBeUndefined();
  });
});
