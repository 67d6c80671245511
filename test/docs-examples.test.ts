/**
 * The TypeScript examples of the docs that are marked as checked (the line
 * `<!-- checked: synthesized by test/docs-examples.test.ts -->` right before
 * the fence) type-check against the package and synthesize: each block is the
 * body of a stack's constructor, after the README's usage example, with
 * `this` the stack and `settings` a ProvisioningTemplateSettings; its imports
 * stay imports.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ts from 'typescript';
import { ProvisioningTemplateSettings } from '../lib';

const ROOT = path.join(__dirname, '..');
const PACKAGE = 'cdk-iot-provisioning-template-settings';
const LIB = path.join(ROOT, 'lib');
/** The files whose marked blocks are checked. */
const FILES = ['docs/operating.md', 'docs/drift-check.md', 'README.md'];
const MARKED_BLOCK = /^<!-- checked: synthesized by test\/docs-examples\.test\.ts -->\n\n```ts\n([\s\S]*?)^```$/gm;

interface Example {
  readonly name: string;
  readonly code: string;
}

const examples: Example[] = FILES.flatMap((file) =>
  [...fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(MARKED_BLOCK)].map((m, i) => ({
    name: `${file} #${i + 1}`,
    code: m[1],
  })),
);

/** The block as a module: its imports at the top, the rest in a function run as the stack's constructor would. */
function moduleOf(code: string): string {
  const source = ts.createSourceFile('example.ts', code, ts.ScriptTarget.ES2022, true);
  const imports = source.statements.filter(ts.isImportDeclaration);
  const body = source.statements.filter((s) => !ts.isImportDeclaration(s));
  const text = (nodes: readonly ts.Node[]) => nodes.map((n) => n.getFullText(source)).join('');
  return [
    text(imports).replaceAll(`'${PACKAGE}'`, JSON.stringify(LIB)),
    `import type { Stack as ExampleStack } from 'aws-cdk-lib';`,
    `import type { ProvisioningTemplateSettings as ExampleSettings } from ${JSON.stringify(LIB)};`,
    'export function example(this: ExampleStack, settings: ExampleSettings): void {',
    'void settings; // an example may not use it',
    text(body),
    '}',
  ].join('\n');
}

/**
 * The type errors of each of `sources` (file name to text), compiled together
 * as files of test/ with the repository's tsconfig.json: one program, as
 * loading aws-cdk-lib's types is most of the time.
 */
function typeErrors(sources: Map<string, string>): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  )!;
  const host = ts.createCompilerHost(config.options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (f) => sources.get(path.resolve(f)) ?? readFile(f);
  host.fileExists = (f) => sources.has(path.resolve(f)) || fileExists(f);
  const program = ts.createProgram([...sources.keys()], { ...config.options, noEmit: true }, host);
  return new Map(
    [...sources.keys()].map((f) => [
      f,
      ts
        .getPreEmitDiagnostics(program, program.getSourceFile(f))
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    ]),
  );
}

/** Runs the module in a stack with a construct, loading its imports through Jest (one aws-cdk-lib). */
function synthesize(source: string): Template {
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  const exports: { example?: (this: Stack, settings: ProvisioningTemplateSettings) => void } = {};
  // The package's lib/ by its path, the rest by name: through Jest's registry, as this file's own imports.
  new Function('exports', 'require', js)(exports, (name: string): unknown => jest.requireActual(name));
  const stack = new Stack(new App(), 'FleetStack', { env: { account: '111122223333', region: 'eu-west-1' } });
  const settings = new ProvisioningTemplateSettings(stack, 'Settings', { templateName: 'sensor-fleet' });
  exports.example!.call(stack, settings);
  return Template.fromStack(stack);
}

/** Every CloudWatch metric the alarms of `template` read: namespace, name and dimensions. */
function alarmMetrics(template: Template) {
  return Object.values(template.findResources('AWS::CloudWatch::Alarm')).flatMap((alarm) => {
    const p = alarm.Properties;
    const stats = p.MetricName
      ? [p]
      : (p.Metrics ?? []).flatMap((m: any) => (m.MetricStat ? [m.MetricStat.Metric] : []));
    return stats.map((m: any) => ({ namespace: m.Namespace, metricName: m.MetricName, dimensions: m.Dimensions }));
  });
}

describe('checked examples of the docs', () => {
  const fileName = (i: number) => path.join(ROOT, 'test', `docs-example-${i}.ts`);
  const sources = examples.map((e) => moduleOf(e.code));
  let errors: Map<string, string[]>;
  beforeAll(() => {
    errors = typeErrors(new Map(sources.map((s, i) => [fileName(i), s])));
  }, 60_000);

  test('there are some: the alarms on failed registrations and on drift, in docs/ and the README', () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
    expect(examples[0].code).toContain('metricRegisterThingFailed()');
    expect(examples.filter((e) => e.name.startsWith('docs/drift-check.md'))[0].code).toContain('metricDrift()');
    const readme = examples.filter((e) => e.name.startsWith('README.md'));
    expect(readme.map((e) => e.code).join('')).toMatch(/metricRegisterThingFailed\(\)[\s\S]*metricDrift\(\)/);
  });

  test.each(examples.map((e, i) => ({ ...e, i })))(
    '$name type-checks and synthesizes an alarm on the template metrics',
    ({ i }) => {
      expect(errors.get(fileName(i))).toEqual([]);
      const metrics = alarmMetrics(synthesize(sources[i]));
      expect(metrics.length).toBeGreaterThanOrEqual(1);
      for (const metric of metrics) {
        // AWS IoT's registration metric of the example's template, or the drift check's of a template it adds.
        expect([
          { namespace: 'AWS/IoT', metricName: 'RegisterThingFailed', template: 'sensor-fleet' },
          { namespace: 'IoTProvisioningTemplateSettings', metricName: 'DriftedSettings', template: 'gateway-fleet' },
        ]).toContainEqual({
          namespace: metric.namespace,
          metricName: metric.metricName,
          template:
            metric.dimensions?.length === 1 &&
            metric.dimensions[0].Name === 'TemplateName' &&
            metric.dimensions[0].Value,
        });
      }
    },
  );
});
