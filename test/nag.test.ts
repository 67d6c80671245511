/**
 * cdk-nag (v3, a CDK validation plugin) over the example app and over stacks
 * built the way a user builds them.
 *
 * What the construct adds must come out clean in a user's stack without the
 * user acknowledging anything: the construct fixes what it can and
 * acknowledges the rest on its own handler only. These tests read the
 * validation report CDK writes during synthesis, so they see exactly what a
 * user's `cdk synth` would report.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { FleetProvisioningStack } from '../bin/example';
import { ProvisioningHook, ProvisioningTemplateSettings } from '../lib';

const ENV = { account: '111122223333', region: 'eu-west-1' };
const PROVIDER_ID = 'IoTProvisioningTemplateSettingsProvider';

interface Finding {
  readonly plugin: string;
  readonly rule: string;
  readonly severity: string;
  readonly path: string;
}

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function newApp(): App {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nag-test-'));
  outdirs.push(outdir);
  return new App({ outdir });
}

/**
 * Synthesize `app` with AwsSolutionsChecks and ServerlessChecks registered the
 * way cdk-nag 3 documents it, and return every unacknowledged finding of every
 * validation plugin, warnings included.
 */
function findings(app: App): Finding[] {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  let synthError: unknown;
  try {
    app.synth();
  } catch (e) {
    synthError = e; // an error-level finding fails synthesis; the report says which
  }
  const reportFile = path.join(app.outdir, 'validation-report.json');
  if (!fs.existsSync(reportFile)) {
    throw synthError ?? new Error('synthesis wrote no validation report: the plugins did not run');
  }
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
  const result: Finding[] = [];
  for (const plugin of report.pluginReports) {
    if (plugin.metadata?.error) {
      throw new Error(`validation plugin ${plugin.pluginName} failed: ${plugin.metadata.error}`);
    }
    for (const v of plugin.violations) {
      for (const c of v.violatingConstructs) {
        result.push({ plugin: plugin.pluginName, rule: v.ruleName, severity: v.severity, path: c.constructPath });
      }
    }
  }
  if (synthError !== undefined && result.length === 0) {
    throw synthError; // failed for another reason than a finding
  }
  return result;
}

function describeFindings(list: Finding[]): string[] {
  return list.map((f) => `${f.severity} ${f.rule} at ${f.path}`);
}

/** Whether a construct path belongs to what the construct creates in `stack` (its provider or a settings construct). */
function isOurs(f: Finding, stack: Stack, settingsIds: string[]): boolean {
  const prefixes = [PROVIDER_ID, ...settingsIds].map((id) => `${stack.node.path}/${id}/`);
  return prefixes.some((p) => f.path.startsWith(p));
}

function allConstructs(root: IConstruct): IConstruct[] {
  return [root, ...root.node.children.flatMap(allConstructs)];
}

/** Every prop set, with a hook and role imported: the stack holds nothing but what the construct creates. */
function everyPropWithImportedResources(stack: Stack) {
  const hook = lambda.Function.fromFunctionArn(
    stack,
    'Hook',
    'arn:aws:lambda:eu-west-1:111122223333:function:device-check',
  );
  const role = iam.Role.fromRoleArn(stack, 'ProvisioningRole', 'arn:aws:iam::111122223333:role/fleet-provisioning', {
    mutable: false,
  });
  new ProvisioningTemplateSettings(stack, 'Settings', {
    templateName: 'sensor-fleet',
    description: 'Sensors, fleet provisioning by claim',
    enabled: true,
    defaultVersionId: 3,
    provisioningRole: role,
    preProvisioningHook: ProvisioningHook.fromFunction(hook, { payloadVersion: '2020-04-01' }),
  });
}

describe('cdk-nag AwsSolutionsChecks and ServerlessChecks', () => {
  test('the example app has no unacknowledged error or warning', () => {
    const app = newApp();
    const stack = new FleetProvisioningStack(app, 'FleetProvisioningExample', {
      existingTemplateName: 'existing-fleet',
    });
    expect(describeFindings(findings(app))).toEqual([]);
    // Not vacuous: the stack holds the construct's handler and both settings.
    expect(stack.node.tryFindChild(PROVIDER_ID)).toBeDefined();
    expect(stack.node.tryFindChild('SensorFleet')).toBeDefined();
    expect(stack.node.tryFindChild('ExistingFleet')).toBeDefined();
  });

  test('a user stack with every prop set and nothing acknowledged by the user has no finding at all', () => {
    const app = newApp();
    const stack = new Stack(app, 'UserStack', { env: ENV });
    everyPropWithImportedResources(stack);
    expect(describeFindings(findings(app))).toEqual([]);
  });

  test('a user stack with only the required prop has no finding at all', () => {
    const app = newApp();
    const stack = new Stack(app, 'UserStack', { env: ENV });
    new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 'sensor-fleet' });
    expect(describeFindings(findings(app))).toEqual([]);
  });

  test("the construct adds no finding to a user's stack, and its acknowledgements do not hide the user's findings", () => {
    const app = newApp();
    const stack = new Stack(app, 'UserStack', { env: ENV });
    // The user's own resources, written with defaults and no acknowledgement: cdk-nag must still flag them.
    const hook = new lambda.Function(stack, 'Hook', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ allowProvisioning: true })'),
    });
    const role = new iam.Role(stack, 'ProvisioningRole', { assumedBy: new iam.ServicePrincipal('iot.amazonaws.com') });
    new ProvisioningTemplateSettings(stack, 'Settings', {
      templateName: 'sensor-fleet',
      description: 'Sensors',
      enabled: true,
      defaultVersionId: 1,
      provisioningRole: role,
      preProvisioningHook: ProvisioningHook.fromFunction(hook),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new ProvisioningTemplateSettings(stack, 'OtherSettings', {
      templateName: 'meter-fleet',
      preProvisioningHook: ProvisioningHook.fromFunction(hook),
    });

    const all = findings(app);
    expect(describeFindings(all.filter((f) => isOurs(f, stack, ['Settings', 'OtherSettings'])))).toEqual([]);

    // The same rules the construct acknowledges on its handler still fire on the user's function.
    const onUserHook = all.filter((f) => f.path === 'UserStack/Hook/Resource').map((f) => f.rule);
    expect(onUserHook).toEqual(
      expect.arrayContaining([
        'Serverless-LambdaDLQ',
        'Serverless-LambdaTracing',
        'Serverless-LambdaDefaultMemorySize',
      ]),
    );
  });

  test('the construct acknowledges findings on its own handler only, each with a reason', () => {
    const app = newApp();
    const stack = new Stack(app, 'UserStack', { env: ENV });
    everyPropWithImportedResources(stack);
    const handlerPath = `UserStack/${PROVIDER_ID}/Handler`;

    const acknowledged = new Map<string, Record<string, string>>();
    for (const c of allConstructs(app)) {
      for (const entry of c.node.metadata) {
        if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
          acknowledged.set(c.node.path, {
            ...acknowledged.get(c.node.path),
            ...(entry.data as Record<string, string>),
          });
        }
      }
    }
    expect([...acknowledged.keys()]).toEqual([handlerPath]);
    const rules = acknowledged.get(handlerPath)!;
    // Ids are recorded with CDK's qualifier ("annotation::" or "Annotation::", by CDK version).
    expect(
      Object.keys(rules)
        .map((id) => id.replace(/^annotation::/i, ''))
        .sort(),
    ).toEqual(['Serverless-LambdaAsyncFailureDestination', 'Serverless-LambdaDLQ', 'Serverless-LambdaTracing']);
    for (const reason of Object.values(rules)) {
      expect(reason.length).toBeGreaterThan(150);
    }
  });

  test("a policy widened to fit IAM's size limit is reported by cdk-nag (AwsSolutions-IAM5 on the pattern), not hidden", () => {
    const app = newApp();
    const stack = new Stack(app, 'UserStack', { env: ENV });
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const id = `S${i}`;
      ids.push(id);
      new ProvisioningTemplateSettings(stack, id, {
        templateName: `fleet-provisioning-template-${String(i).padStart(4, '0')}`,
      });
    }
    const all = findings(app);
    expect(all.length).toBeGreaterThan(0);
    // Only the widened template resources of the handler's policy, nothing else.
    for (const f of all) {
      expect(f).toMatchObject({
        plugin: 'AwsSolutions',
        path: `UserStack/${PROVIDER_ID}/Policy`,
        rule: expect.stringMatching(
          /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:iot:eu-west-1:111122223333:provisioningtemplate\/fleet-provisioning-template-\d*\*\]$/,
        ),
      });
    }
    expect(isOurs(all[0], stack, ids)).toBe(true);
  });
});
