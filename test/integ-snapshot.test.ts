/**
 * Offline check of the integration test's committed snapshot: synthesizes
 * test/integ.provisioning-template-settings.ts (no AWS, no network) and
 * compares it with test/integ.provisioning-template-settings.ts.snapshot/.
 * When this fails after an intended change, run `npm run integ:snapshot` and
 * commit the snapshot; the change is verified on AWS with integ-runner.
 *
 * Compared: every *.template.json, integ.json, and the stacks' names and
 * deployment order from manifest.json. Asset hashes are compared too (the
 * snapshot pins the handler that a run would deploy). Nothing is masked: the
 * salt integ-tests-alpha gives each API call comes from a fixed clock offline
 * (see synthIntegApp).
 */
import * as fs from 'fs';
import * as path from 'path';
import { SNAPSHOT_DIR, isAssetBody, synthIntegApp } from './integ-snapshot-synth';

type Json = Record<string, any>;

const readJson = (dir: string, file: string): Json => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));

/** What the manifest says about each stack: its CloudFormation name and what it waits for. */
function stackGraph(manifest: Json): Json {
  return Object.fromEntries(
    Object.entries(manifest.artifacts as Json)
      .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
      .map(([id, artifact]) => [
        id,
        {
          stackName: artifact.properties?.stackName,
          dependsOn: (artifact.dependencies ?? []).filter((d: string) => !d.endsWith('.assets')).sort(),
        },
      ]),
  );
}

const committedFiles = fs.existsSync(SNAPSHOT_DIR) ? fs.readdirSync(SNAPSHOT_DIR).sort() : [];
const committedTemplates = committedFiles.filter((f) => f.endsWith('.template.json'));

describe('integration test snapshot (test/integ.provisioning-template-settings.ts.snapshot)', () => {
  let outdir: string;

  beforeAll(() => {
    outdir = synthIntegApp();
  }, 120_000);

  afterAll(() => {
    if (outdir) {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('is committed, without asset bodies', () => {
    expect(committedTemplates.length).toBeGreaterThan(0);
    expect(committedFiles.filter(isAssetBody)).toEqual([]);
  });

  test('has the same files as a fresh synthesis (npm run integ:snapshot to update)', () => {
    const synthesized = fs
      .readdirSync(outdir)
      .filter((f) => !isAssetBody(f))
      .sort();
    expect(committedFiles).toEqual(synthesized);
  });

  test.each(committedTemplates)('%s matches a fresh synthesis (npm run integ:snapshot to update)', (file) => {
    expect(readJson(outdir, file)).toEqual(readJson(SNAPSHOT_DIR, file));
  });

  test("integ.json and the stacks' deployment order match a fresh synthesis", () => {
    expect(readJson(outdir, 'integ.json')).toEqual(readJson(SNAPSHOT_DIR, 'integ.json'));
    expect(stackGraph(readJson(outdir, 'manifest.json'))).toEqual(stackGraph(readJson(SNAPSHOT_DIR, 'manifest.json')));
  });

  // What makes the integration test a create-then-update test. A regenerated
  // snapshot would accept any change, these would not.
  describe('test design', () => {
    const template = (stack: string) => readJson(outdir, `${stack}.template.json`);
    const settingsOf = (stack: string) =>
      Object.entries(template(stack).Resources as Json).filter(
        ([, r]) => r.Type === 'Custom::IoTProvisioningTemplateSettings',
      );

    test('Create and Update are two versions of one CloudFormation stack, deployed Create, CreateCheck, Update', () => {
      const graph = stackGraph(readJson(outdir, 'manifest.json'));
      expect(graph.Create.stackName).toBe(graph.Update.stackName);
      expect(graph.CreateCheck.dependsOn).toEqual(['Create']);
      expect(graph.Update.dependsOn).toEqual(['Create', 'CreateCheck']);
      // integ-runner deploys the assertion stack by itself after the test stacks;
      // a dependency on Update would redeploy Create (the same stack) first.
      expect(graph.Assertions.dependsOn).toEqual([]);
      expect(readJson(outdir, 'integ.json').testCases).toEqual({
        'ProvisioningTemplateSettingsInteg/DefaultTest': expect.objectContaining({
          stacks: ['Create', 'Update'],
          assertionStack: 'Assertions',
          stackUpdateWorkflow: false,
        }),
      });
    });

    test('the update removes the hook and only the hook from the same custom resource', () => {
      const [[createId, created]] = settingsOf('Create');
      const [[updateId, updated]] = settingsOf('Update');
      expect(updateId).toBe(createId);
      expect(created.Properties.PreProvisioningHook).toBeDefined();
      const { PreProvisioningHook: _hook, ...createdWithoutHook } = created.Properties;
      expect(updated.Properties).toEqual(createdWithoutHook);
      expect(Object.keys(template('Update').Resources).sort()).toEqual(
        Object.keys(template('Create').Resources)
          .filter((id) => !id.includes('HookInvoke'))
          .sort(),
      );
    });

    test('CreateCheck fails its deployment unless the hook, enabled and the role are set', () => {
      const calls = Object.values(template('CreateCheck').Resources as Json).filter(
        (r) => r.Type === 'Custom::DeployAssert@SdkCallIoTdescribeProvisioningTemplate',
      );
      expect(calls).toHaveLength(1);
      // A waiter (state machine) turns a failed expectation into a failed deployment.
      expect(calls[0].Properties.stateMachineArn).toBeDefined();
      const expected = JSON.stringify(calls[0].Properties.expected);
      for (const key of ['preProvisioningHook', 'targetArn', 'enabled', 'provisioningRoleArn']) {
        expect(expected).toContain(key);
      }
    });

    test('the template is created disabled with another role, so the settings are what the assertions see', () => {
      const created = Object.values(template('Create').Resources as Json).find(
        (r) => r.Type === 'AWS::IoT::ProvisioningTemplate',
      );
      const [[, settings]] = settingsOf('Create');
      expect(created.Properties).toMatchObject({ TemplateType: 'FLEET_PROVISIONING', Enabled: false });
      expect(created.Properties.PreProvisioningHook).toBeUndefined();
      expect(created.Properties.ProvisioningRoleArn).not.toEqual(settings.Properties.ProvisioningRoleArn);
      expect(settings.Properties.Enabled).toBe('true');
    });
  });
});
