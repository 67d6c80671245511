/**
 * Unit tests for lib/handler-policy.ts: the handler's policy document, its
 * size estimate, the template patterns that keep it within its budget, and
 * its digest. What the synthesized stacks hold is test/iam.test.ts,
 * test/construct.test.ts and test/scale.test.ts.
 */
import { App, Lazy, NestedStack, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ProvisioningTemplateSettings } from '../lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import {
  INLINE_POLICY_LIMIT,
  OWN_TAG_KEYS,
  POLICY_BUDGET,
  PolicyParts,
  WORST_ROLE_ARN_LENGTH,
  estimatedPolicySize,
  policyBudgetErrors,
  policyDigest,
  policyDocument,
  policyWidenedWarning,
  scopePolicyTemplates,
} from '../lib/handler-policy';
import { MAX_TEMPLATE_NAME_LENGTH } from '../lib/scoping';
import { OWNER_TAG, ownerTags, PENDING_ROLE_TAG, recordTags } from '../lambda/record';

const token = (value: string) => Lazy.string({ produce: () => value });
const fleet = (count: number, prefix = 'fleet-customer-') =>
  Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);

const PARTS: PolicyParts = {
  logGroupArn: 'arn:aws:logs:eu-west-1:111122223333:log-group:handler-logs:*',
  templateArns: [
    'arn:aws:iot:eu-west-1:111122223333:provisioningtemplate/sensor-fleet',
    'arn:aws:iot:eu-west-1:111122223333:provisioningtemplate/meter-*',
  ],
  roleArns: ['arn:aws:iam::111122223333:role/fleet-provisioning'],
  stackArn: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/Fleet/5b7c6a10-0000-4000-8000-000000000000',
};

describe('policyDocument', () => {
  test('four Allow statements, each on the parts given, PassRole only to AWS IoT, tagging only with own keys, keys in a fixed order', () => {
    const doc = policyDocument(PARTS);
    const expected = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'WriteOwnLogs',
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: PARTS.logGroupArn,
        },
        {
          Sid: 'ManageProvisioningTemplates',
          Effect: 'Allow',
          Action: [
            'iot:DescribeProvisioningTemplate',
            'iot:ListTagsForResource',
            'iot:TagResource',
            'iot:UntagResource',
            'iot:UpdateProvisioningTemplate',
          ],
          Resource: PARTS.templateArns,
        },
        {
          Sid: 'TagOnlyOwnKeys',
          Effect: 'Deny',
          Action: ['iot:TagResource', 'iot:UntagResource'],
          Resource: '*',
          Condition: { 'ForAnyValue:StringNotLike': { 'aws:TagKeys': 'iot-provisioning-template-settings:*' } },
        },
        {
          Sid: 'PassProvisioningRoles',
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: PARTS.roleArns,
          Condition: { StringEquals: { 'iam:PassedToService': 'iot.amazonaws.com' } },
        },
        {
          Sid: 'ReadOwnStack',
          Effect: 'Allow',
          Action: ['cloudformation:DescribeStackResource', 'cloudformation:DescribeStacks'],
          Resource: PARTS.stackArn,
        },
      ],
    };
    expect(doc).toEqual(expected);
    // The digest, and so the policy's logical id, is taken over the JSON text: key order counts.
    expect(JSON.stringify(doc)).toBe(JSON.stringify(expected));
  });

  test('no roles: no PassRole statement at all, rather than one on no resource', () => {
    const doc = policyDocument({ ...PARTS, roleArns: [] });
    expect(doc.Statement.map((s) => (s as { Sid: string }).Sid)).toEqual([
      'WriteOwnLogs',
      'ManageProvisioningTemplates',
      'TagOnlyOwnKeys',
      'ReadOwnStack',
    ]);
    expect(JSON.stringify(doc)).not.toContain('iam:');
  });

  test('tokens and the order of the ARNs are kept as given, for the stack to resolve', () => {
    const logGroupArn = token('log-group');
    const templateArns = ['b', token('template'), 'a'];
    const doc = policyDocument({ ...PARTS, logGroupArn, templateArns });
    const resources = doc.Statement.map((s) => (s as { Resource: unknown }).Resource);
    expect(resources[0]).toBe(logGroupArn);
    expect(resources[1]).toEqual(templateArns);
  });
});

describe('the tag guard', () => {
  /** IAM's StringLike: `*` any run of characters, `?` any one, case-sensitive. */
  const like = (value: string, pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    ).test(value);

  /** Whether the policy lets the handler call `action` on a managed template with these tag keys. */
  function permitted(action: string, tagKeys: string[]): boolean {
    const statements = policyDocument(PARTS).Statement as {
      Effect: string;
      Action: string | string[];
      Condition?: Record<string, Record<string, string>>;
    }[];
    const applies = (st: (typeof statements)[number]) => {
      if (![st.Action].flat().includes(action)) return false;
      const pattern = st.Condition?.['ForAnyValue:StringNotLike']?.['aws:TagKeys'];
      return pattern === undefined || tagKeys.some((key) => !like(key, pattern));
    };
    const allowed = statements.some((st) => st.Effect === 'Allow' && applies(st));
    return allowed && !statements.some((st) => st.Effect === 'Deny' && applies(st));
  }

  test("the handler's own tags, as lambda/record.ts writes them, may be set and removed", () => {
    const keys = [
      ...Object.keys(ownerTags('Fleet/Settings/1a2b3c4d', undefined)),
      ...Object.keys(recordTags({ description: 'd'.repeat(600), owner: 'Fleet/Settings', request: 'r', props: 'p' })),
      PENDING_ROLE_TAG,
    ];
    expect(keys.length).toBeGreaterThan(3);
    for (const key of keys) {
      expect({ key, covered: like(key, OWN_TAG_KEYS) }).toEqual({ key, covered: true });
    }
    expect(permitted('iot:TagResource', keys)).toBe(true);
    expect(permitted('iot:UntagResource', keys)).toBe(true);
    expect(permitted('iot:ListTagsForResource', [])).toBe(true);
  });

  test("anyone else's tag may not, alone or along with the handler's own", () => {
    for (const keys of [
      ['env'],
      [OWNER_TAG, 'env'],
      ['iot-provisioning-template-settings'],
      ['IOT-PROVISIONING-TEMPLATE-SETTINGS:owner'],
    ]) {
      expect({ keys, tag: permitted('iot:TagResource', keys) }).toEqual({ keys, tag: false });
      expect({ keys, untag: permitted('iot:UntagResource', keys) }).toEqual({ keys, untag: false });
    }
  });
});

describe('estimatedPolicySize', () => {
  test('counts an unresolved template name as the longest name AWS IoT allows', () => {
    const longest = 'n'.repeat(MAX_TEMPLATE_NAME_LENGTH);
    expect(estimatedPolicySize([token('short')], [])).toBe(estimatedPolicySize([longest], []));
    expect(estimatedPolicySize([token('short')], [])).toBe(estimatedPolicySize(['short'], []) + longest.length - 5);
  });

  test('counts an unresolved role ARN at its worst-case length', () => {
    const roleArn = 'arn:aws:iam::111122223333:role/fleet-provisioning';
    expect(estimatedPolicySize([], [token(roleArn)])).toBe(
      estimatedPolicySize([], [roleArn]) + WORST_ROLE_ARN_LENGTH - roleArn.length,
    );
  });

  test('grows with each template pattern by its ARN, quoted, and with each role', () => {
    const one = estimatedPolicySize(['sensor-fleet'], []);
    const two = estimatedPolicySize(['sensor-fleet', 'meter-fleet'], []);
    expect(two - one).toBe(
      ',"arn:aws-us-gov:iot:xx-xxxxxxxxx-16:123456789012:provisioningtemplate/meter-fleet"'.length,
    );
    expect(estimatedPolicySize(fleet(250), [])).toBeGreaterThan(estimatedPolicySize(fleet(249), []));

    const roleA = 'arn:aws:iam::111122223333:role/a';
    const roleB = 'arn:aws:iam::111122223333:role/b';
    const noRole = estimatedPolicySize(['sensor-fleet'], []);
    const oneRole = estimatedPolicySize(['sensor-fleet'], [roleA]);
    // The first role adds the PassRole statement, each further one its ARN.
    expect(oneRole - noRole).toBeGreaterThan(roleA.length + 100);
    expect(estimatedPolicySize(['sensor-fleet'], [roleA, roleB]) - oneRole).toBe(`,"${roleB}"`.length);
  });

  /** The document as IAM gets it: every token resolved, each to the longest value it can have in `region`. */
  function rendered(region: RegionInfo, patterns: readonly string[], roleArns: readonly string[]): number {
    const partition = region.partition!;
    const account = '123456789012';
    const at = (service: string) => `arn:${partition}:${service}:${region.name}:${account}`;
    // CloudFormation's longest stack name, and the names it generates from it (`<stack>-<logical id>-<12 characters>`).
    const stackName = 's'.repeat(128);
    const real = (value: string, longest: string) => (Token.isUnresolved(value) ? longest : value);
    return JSON.stringify(
      policyDocument({
        logGroupArn: `${at('logs')}:log-group:${stackName}-IoTProvisioningTemplateSettingsProviderLogs0123ABCD-ABCDEFGHIJKL:*`,
        templateArns: patterns.map(
          (p) => `${at('iot')}:provisioningtemplate/${real(p, 'n'.repeat(MAX_TEMPLATE_NAME_LENGTH))}`,
        ),
        roleArns: roleArns.map((arn) => real(arn, `arn:${partition}:iam::${account}:role/${'r'.repeat(64)}`)),
        stackArn: `${at('cloudformation')}:stack/${stackName}/5b7c6a10-0000-4000-8000-000000000000`,
      }),
    ).length;
  }

  test.each([
    ['no template and no role', [], []],
    ['one template', ['sensor-fleet'], []],
    ['a token name and a token role', [token('sensor-fleet')], [token('role')]],
    ['250 names and a role', fleet(250), ['arn:aws:iam::111122223333:role/fleet-provisioning']],
    [
      '40 names of 36 characters, roles known and unknown',
      fleet(40, 'f'.repeat(MAX_TEMPLATE_NAME_LENGTH - 3)),
      [token('a'), token('b'), 'arn:aws-us-gov:iam::111122223333:role/path/to/fleet-provisioning'],
    ],
    ['widened patterns', ['fleet-customer-0*', 'fleet-customer-1*', 'fleet-customer-2*'], [token('role')]],
  ])(
    'is never under the size of the same document rendered with real values, in any region: %s',
    (_, patterns: string[], roleArns: string[]) => {
      const estimate = estimatedPolicySize(patterns, roleArns);
      expect(RegionInfo.regions.length).toBeGreaterThan(30);
      for (const region of RegionInfo.regions) {
        expect({ region: region.name, under: estimate < rendered(region, patterns, roleArns) }).toEqual({
          region: region.name,
          under: false,
        });
      }
    },
  );
});

describe('scopePolicyTemplates', () => {
  /** The first number of `names` whose exact ARNs no longer fit the budget with `roleArns`. */
  function firstOver(names: string[], roleArns: string[]): number {
    const n = names.findIndex((_, i) => estimatedPolicySize(names.slice(0, i + 1), roleArns) > POLICY_BUDGET) + 1;
    expect(n).toBeGreaterThan(1);
    return n;
  }

  test('exact names while they fit the budget, folded from the first one that does not, and then within it', () => {
    const names = fleet(250);
    const n = firstOver(names, []);
    expect(scopePolicyTemplates(names.slice(0, n - 1), [])).toEqual({
      patterns: names.slice(0, n - 1),
      widened: false,
    });
    const folded = scopePolicyTemplates(names.slice(0, n), []);
    expect(folded.widened).toBe(true);
    expect(folded.patterns.length).toBeLessThan(n);
    expect(estimatedPolicySize(folded.patterns, [])).toBeLessThanOrEqual(POLICY_BUDGET);
  });

  test('roles take room from templates: with more roles, fewer names fit exactly and the patterns get wider', () => {
    const names = fleet(250);
    const roles = Array.from({ length: 10 }, (_, i) => token(`role-${i}`));
    expect(firstOver(names, roles)).toBeLessThan(firstOver(names, []));
    const withoutRoles = scopePolicyTemplates(names, []);
    const withRoles = scopePolicyTemplates(names, roles);
    expect(withRoles.patterns.length).toBeLessThan(withoutRoles.patterns.length);
    expect(estimatedPolicySize(withRoles.patterns, roles)).toBeLessThanOrEqual(POLICY_BUDGET);
  });
});

describe('policyBudgetErrors', () => {
  test('none while the policy fits its budget; past it, one error naming the size, the budget and the roles', () => {
    const roles = Array.from({ length: 60 }, (_, i) => `arn:aws:iam::111122223333:role/${'r'.repeat(60)}-${i}`);
    const n = roles.findIndex((_, i) => estimatedPolicySize(['*'], roles.slice(0, i + 1)) > POLICY_BUDGET) + 1;
    expect(n).toBeGreaterThan(1);
    expect(policyBudgetErrors(['*'], roles.slice(0, n - 1))).toEqual([]);
    const errors = policyBudgetErrors(['*'], roles.slice(0, n));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`about ${estimatedPolicySize(['*'], roles.slice(0, n))} characters`);
    expect(errors[0]).toContain(`over its ${POLICY_BUDGET}-character budget`);
    expect(errors[0]).toContain(`because ${n} different provisioning roles are passed`);
  });

  test("the budget is half of IAM's limit, less a margin: old and new policy are attached together while it is replaced", () => {
    expect(2 * POLICY_BUDGET).toBeLessThan(INLINE_POLICY_LIMIT);
    expect(2 * POLICY_BUDGET).toBeGreaterThan(INLINE_POLICY_LIMIT - 1024);
  });
});

describe('policyWidenedWarning', () => {
  test('names the number of templates, the limit and every pattern', () => {
    const warning = policyWidenedWarning(250, ['fleet-customer-0*', 'fleet-customer-1*']);
    expect(warning).toMatch(/^250 provisioning templates do not fit IAM's 10240-character inline policy limit/);
    expect(warning).toContain('widened to the name patterns fleet-customer-0*, fleet-customer-1*.');
  });
});

describe('policyDigest', () => {
  test('a fixed document has a fixed digest: a new digest replaces every deployed policy', () => {
    expect(policyDigest(policyDocument(PARTS))).toBe('493F6F63');
  });

  test('8 upper-case hex characters, the same for an equal document, another for any change, order included', () => {
    const digest = policyDigest(policyDocument(PARTS));
    expect(digest).toMatch(/^[0-9A-F]{8}$/);
    expect(policyDigest(JSON.parse(JSON.stringify(policyDocument(PARTS))))).toBe(digest);
    const reordered = policyDocument({ ...PARTS, templateArns: [...PARTS.templateArns].reverse() });
    expect(policyDigest(reordered)).not.toBe(digest);
    expect(policyDigest(policyDocument({ ...PARTS, roleArns: [] }))).not.toBe(digest);
  });
});

describe("a nested stack's handler may read its root stack's status", () => {
  const policyOf = (stack: Stack) => {
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    return JSON.stringify(Object.values(policies)[0].Properties.PolicyDocument);
  };

  test('DescribeStacks on the root stack, by name, in the nested stack only', () => {
    const app = new App();
    const root = new Stack(app, 'Fleet', { env: { account: '111122223333', region: 'eu-west-1' } });
    new ProvisioningTemplateSettings(root, 'Settings', { templateName: 'top', enabled: true });
    const nested = new NestedStack(new NestedStack(root, 'Devices'), 'Sensors');
    new ProvisioningTemplateSettings(nested, 'Settings', { templateName: 'deep', enabled: true });

    expect(policyOf(nested)).toContain(
      '{"Sid":"ReadRootStack","Effect":"Allow","Action":"cloudformation:DescribeStacks","Resource":{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":cloudformation:eu-west-1:111122223333:stack/Fleet/*"]]}}',
    );
    expect(policyOf(root)).not.toContain('ReadRootStack');
  });
});
