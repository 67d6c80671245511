/**
 * Holds the shape of a stack with 250 templates (issue 4), so that a later
 * change cannot silently break scale: resource count, one handler, IAM policy
 * size limits, template size, the widening warning. No timing assertions
 * (timing is `npm run bench`). Also unit tests for lib/scoping.ts.
 *
 * Policy sizes are measured on the synthesized template by bench/measure.ts,
 * independently of the construct's own estimate, with every unresolved part
 * (partition, region, account, generated role and log group names) at its
 * worst-case length.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { RESOURCE_TYPE } from '../lib/handler-contract';
import { WIDENED_WARNING_ID } from '../lib/provider';
import { scopeNames } from '../lib/scoping';
import {
  CfnTemplate,
  MANAGED_POLICY_LIMIT,
  ROLE_INLINE_POLICY_LIMIT,
  Resolver,
  TEMPLATE_SIZE_LIMIT,
  inlinePolicyCharsByRole,
  managedPolicyChars,
  resourceCount,
} from '../bench/measure';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildBenchStack, templateName } = require('../bench/bench-stack.cjs') as {
  buildBenchStack(app: App, variant: 'ours' | 'baseline', n: number): Stack;
  templateName(i: number): string;
};

interface Synthesized {
  readonly template: CfnTemplate;
  readonly templateBytes: number;
  readonly warnings: string[];
}

/** The bench's stack (bench/bench-stack.cjs): N templates sharing one provisioning role and one hook. */
function synthesize(n: number): Synthesized {
  const app = new App();
  const stack = buildBenchStack(app, 'ours', n);
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  return {
    template: artifact.template,
    templateBytes: fs.statSync(path.join(assembly.directory, artifact.templateFile)).size,
    warnings: artifact.messages
      .filter((m) => m.level === cxapi.SynthesisMessageLevel.WARNING)
      .map((m) => String(m.entry.data)),
  };
}

type Resources = NonNullable<CfnTemplate['Resources']>;

function ofType(template: CfnTemplate, type: string): Resources {
  return Object.fromEntries(Object.entries(template.Resources ?? {}).filter(([, r]) => r.Type === type));
}

/** The Resource entries of the handler policy's template statement, resolved with realistic values. */
function grantedTemplatePatterns(template: CfnTemplate): string[] {
  const policies = Object.values(ofType(template, 'AWS::IAM::Policy'));
  expect(policies).toHaveLength(1);
  const doc = new Resolver(template, 'realistic').resolve(policies[0].Properties!.PolicyDocument) as {
    Statement: { Action: string | string[]; Resource: string | string[] }[];
  };
  const statement = doc.Statement.find((s) => [s.Action].flat().includes('iot:UpdateProvisioningTemplate'));
  expect(statement).toBeDefined();
  const prefix = 'arn:aws:iot:us-east-1:123456789012:provisioningtemplate/';
  return [statement!.Resource].flat().map((arn) => {
    expect(arn.startsWith(prefix)).toBe(true);
    return arn.slice(prefix.length);
  });
}

function covers(pattern: string, name: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

describe('250 templates in one stack', () => {
  const N = 250;
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize(N);
  });

  test("at most N + 15 resources, far below CloudFormation's 500", () => {
    expect(Object.keys(ofType(synth.template, RESOURCE_TYPE))).toHaveLength(N);
    expect(resourceCount(synth.template)).toBeLessThanOrEqual(N + 15);
  });

  test('exactly one handler function serves every custom resource', () => {
    const serviceTokens = new Set(
      Object.values(ofType(synth.template, RESOURCE_TYPE)).map((r) => JSON.stringify(r.Properties!.ServiceToken)),
    );
    expect(serviceTokens.size).toBe(1);
    const [token] = [...serviceTokens];
    const handlerId = (JSON.parse(token) as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const functions = ofType(synth.template, 'AWS::Lambda::Function');
    expect(functions[handlerId]).toBeDefined();
    // The handler and the stack's own hook function: nothing else.
    expect(Object.keys(functions)).toHaveLength(2);
  });

  test("every role's inline policies fit IAM's 10,240 characters, worst case, twice over", () => {
    const sizes = inlinePolicyCharsByRole(synth.template, 'worst');
    // The handler's role, the hook's role and the provisioning role.
    expect(sizes.size).toBe(3);
    const largest = Math.max(...sizes.values());
    expect(largest).toBeGreaterThan(0); // the handler's policy was found and measured
    for (const [role, size] of sizes) {
      // Twice: while CloudFormation replaces the handler's policy, old and new are attached together.
      expect({ role, size: 2 * size <= ROLE_INLINE_POLICY_LIMIT }).toEqual({ role, size: true });
    }
  });

  test("every customer managed policy fits IAM's 6,144 characters, worst case", () => {
    for (const [policy, size] of managedPolicyChars(synth.template, 'worst')) {
      expect({ policy, size: size <= MANAGED_POLICY_LIMIT }).toEqual({ policy, size: true });
    }
  });

  test("the template is within CloudFormation's 1 MB", () => {
    expect(synth.templateBytes).toBeGreaterThan(0);
    expect(synth.templateBytes).toBeLessThanOrEqual(TEMPLATE_SIZE_LIMIT);
  });

  test('the permission is widened to prefixes that cover every template, never to "*", and a warning says so', () => {
    const patterns = grantedTemplatePatterns(synth.template);
    expect(patterns.length).toBeLessThan(N);
    expect(patterns).not.toContain('*');
    for (let i = 0; i < N; i++) {
      expect({ name: templateName(i), covered: patterns.some((p) => covers(p, templateName(i))) }).toEqual({
        name: templateName(i),
        covered: true,
      });
    }
    const warning = synth.warnings.find((w) => w.includes(WIDENED_WARNING_ID));
    expect(warning).toBeDefined();
    expect(warning).toContain(patterns[0]);
  });
});

describe('templates that fit one ARN each', () => {
  // The bench's names with its provisioning role, whose ARN is counted at its
  // worst-case length: 38 fit. (41 before the handler's tag actions and the tag
  // guard of lib/handler-policy.ts took their room.)
  test('38 templates: one exact ARN per template and no widening warning', () => {
    const synth = synthesize(38);
    const patterns = grantedTemplatePatterns(synth.template);
    expect(patterns).toEqual(Array.from({ length: 38 }, (_, i) => templateName(i)));
    expect(synth.warnings.filter((w) => w.includes(WIDENED_WARNING_ID))).toEqual([]);
    const largest = Math.max(...inlinePolicyCharsByRole(synth.template, 'worst').values());
    expect(2 * largest).toBeLessThanOrEqual(ROLE_INLINE_POLICY_LIMIT);
  });

  test('39 templates: widened, with the warning', () => {
    const synth = synthesize(39);
    expect(grantedTemplatePatterns(synth.template).length).toBeLessThan(39);
    expect(synth.warnings.filter((w) => w.includes(WIDENED_WARNING_ID))).toHaveLength(1);
  });
});

describe('scopeNames', () => {
  const always = () => true;
  const atMost = (count: number) => (patterns: string[]) => patterns.length <= count;

  test('exact names when they fit: sorted, duplicates dropped, not widened', () => {
    expect(scopeNames(['beta', 'alpha', 'beta'], always)).toEqual({ patterns: ['alpha', 'beta'], widened: false });
  });

  test('folds names by the longest shared prefix that fits', () => {
    const names = Array.from({ length: 250 }, (_, i) => templateName(i));
    expect(scopeNames(names, atMost(25))).toEqual({
      patterns: Array.from({ length: 25 }, (_, i) => `fleet-customer-${String(i).padStart(2, '0')}*`),
      widened: true,
    });
    expect(scopeNames(names, atMost(3))).toEqual({
      patterns: ['fleet-customer-0*', 'fleet-customer-1*', 'fleet-customer-2*'],
      widened: true,
    });
  });

  test('a name alone in its group stays exact; a name that is a prefix of another is covered by the fold', () => {
    expect(scopeNames(['alpha-1', 'alpha-2', 'beta'], atMost(2))).toEqual({
      patterns: ['alpha-*', 'beta'],
      widened: true,
    });
    expect(scopeNames(['abc', 'abcd', 'xyz'], atMost(2))).toEqual({ patterns: ['abc*', 'xyz'], widened: true });
  });

  test('every fold covers every name it replaces', () => {
    const names = ['sensor-eu-1', 'sensor-eu-2', 'sensor-us-1', 'gateway-a', 'gateway-b', 'meter'];
    for (let limit = 1; limit <= names.length; limit++) {
      const { patterns } = scopeNames(names, atMost(limit));
      for (const name of names) {
        expect({ limit, name, covered: patterns.some((p) => covers(p, name)) }).toEqual({ limit, name, covered: true });
      }
    }
  });

  test('tokens stay exact while they fit, after the concrete names', () => {
    const token = Lazy.string({ produce: () => 'from-a-parameter' });
    const exact = scopeNames(['b', token, 'a'], always);
    expect(exact).toEqual({ patterns: ['a', 'b', token], widened: false });

    // Concrete names fold; the token, whose value is unknown, is kept as it is.
    const folded = scopeNames(['x-1', 'x-2', token], atMost(2));
    expect(folded.widened).toBe(true);
    expect(folded.patterns).toHaveLength(2);
    expect(folded.patterns[0]).toBe('x-*');
    expect(Token.isUnresolved(folded.patterns[1])).toBe(true);
  });

  test('"*" when nothing else fits, tokens included', () => {
    const token = Lazy.string({ produce: () => 'from-a-parameter' });
    expect(scopeNames(['a', 'b', token], () => false)).toEqual({ patterns: ['*'], widened: true });
    expect(scopeNames([token, Lazy.string({ produce: () => 'other' })], atMost(1))).toEqual({
      patterns: ['*'],
      widened: true,
    });
  });

  test('the limit decides: a bigger budget keeps longer prefixes', () => {
    const names = Array.from({ length: 100 }, (_, i) => templateName(i));
    const bySize = (budget: number) => (patterns: string[]) => patterns.join(',').length <= budget;
    const narrow = scopeNames(names, bySize(10_000));
    const wide = scopeNames(names, bySize(200));
    expect(narrow).toEqual({ patterns: names, widened: false });
    expect(wide.widened).toBe(true);
    expect(wide.patterns.every((p) => p.startsWith('fleet-customer-'))).toBe(true);
    expect(wide.patterns.join(',').length).toBeLessThanOrEqual(200);
  });
});
