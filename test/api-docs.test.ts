/**
 * API.md is generated from the jsii assembly (.jsii, written by `npm run build`)
 * with jsii-docgen, and committed. These tests fail when it is stale: run
 * `npm run docgen` and commit API.md.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Documentation, Language } from 'jsii-docgen';

const ROOT = path.join(__dirname, '..');
const ASSEMBLY = path.join(ROOT, '.jsii');
const API_MD = path.join(ROOT, 'API.md');
const FQN_PREFIX = 'cdk-iot-provisioning-template-settings.';
// Rendering loads the assemblies of aws-cdk-lib and constructs: seconds, not milliseconds.
const RENDER_TIMEOUT_MS = 120_000;

/** The public API: what lib/index.ts exports. */
const PUBLIC_TYPES = [
  'DriftCheck',
  'DriftCheckOptions',
  'ProvisioningHook',
  'ProvisioningHookOptions',
  'ProvisioningTemplateSettings',
  'ProvisioningTemplateSettingsProps',
  'SettingsHandler',
];

const libSources = () =>
  fs
    .readdirSync(path.join(ROOT, 'lib'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(ROOT, 'lib', f));

describe('jsii assembly and API.md', () => {
  let docs: Documentation;

  beforeAll(async () => {
    // Without this, a stale assembly would make a stale API.md look current.
    const built = fs.statSync(ASSEMBLY).mtimeMs;
    const newer = libSources()
      .filter((f) => fs.statSync(f).mtimeMs > built)
      .map((f) => path.relative(ROOT, f));
    if (newer.length > 0) {
      throw new Error(`.jsii is older than ${newer.join(', ')}: run "npm run build" first.`);
    }
    docs = await Documentation.forProject(ROOT);
  }, RENDER_TIMEOUT_MS);

  afterAll(async () => {
    await docs?.cleanup();
  });

  test('the assembly holds exactly the public API, compiled from lib/ only', () => {
    const assembly = JSON.parse(fs.readFileSync(ASSEMBLY, 'utf8'));
    expect(Object.keys(assembly.types).sort()).toEqual(PUBLIC_TYPES.map((t) => FQN_PREFIX + t));
    // Every CDK language has a target (publishing them is out of scope).
    expect(Object.keys(assembly.targets).sort()).toEqual(['dotnet', 'go', 'java', 'js', 'python']);
    expect(assembly.targets.python.module).toBe('cdk_iot_provisioning_template_settings');
    for (const type of Object.values<any>(assembly.types)) {
      expect(type.locationInModule.filename).toMatch(/^lib\/[^/]+\.ts$/);
    }
    // The handler and the tests are not part of the jsii compilation.
    const build = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8'));
    expect(build.include).toEqual(['lib/**/*.ts']);
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).jsii.tsconfig).toBe(
      'tsconfig.build.json',
    );
  });

  test(
    'API.md is what jsii-docgen renders from the assembly (npm run docgen to update)',
    async () => {
      const rendered = (await docs.toMarkdown({ language: Language.TYPESCRIPT })).render();
      expect(fs.readFileSync(API_MD, 'utf8')).toEqual(rendered);
    },
    RENDER_TIMEOUT_MS,
  );
});
