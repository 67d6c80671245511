/**
 * Measures a synthesized CloudFormation template the way the services that
 * receive it count: resources, and IAM policy sizes with whitespace removed.
 *
 * Policy documents in a CDK template are partly unresolved (`Ref`,
 * `Fn::GetAtt`, `Fn::Join`). They are resolved here with either
 * - `realistic` values: partition aws, region us-east-1, a 12-digit account,
 *   and physical names shaped like the ones CloudFormation generates
 *   (`<stack>-<logicalId>-<12 random>`, IAM role and Lambda names cut to 64); or
 * - `worst` values: the longest each part can be (partition aws-us-gov, a
 *   16-character region, 64-character role and function names, log group
 *   names from a 128-character stack name), so a size under a limit with
 *   these values is under it in any account, region and stack name.
 * An intrinsic this file does not know throws: a size is never guessed.
 *
 * Used by bench/run.ts and by test/scale.test.ts.
 */

export type Substitution = 'realistic' | 'worst';

/** IAM: all inline policies of one role together, whitespace removed. */
export const ROLE_INLINE_POLICY_LIMIT = 10_240;
/** IAM: one customer managed policy, whitespace removed. */
export const MANAGED_POLICY_LIMIT = 6_144;
/** CloudFormation: template body uploaded through S3. */
export const TEMPLATE_SIZE_LIMIT = 1_000_000;
/** CloudFormation: resources in one stack. */
export const RESOURCE_LIMIT = 500;

export interface CfnTemplate {
  Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  [section: string]: unknown;
}

interface Values {
  partition: string;
  region: string;
  account: string;
  urlSuffix: string;
  stackName: string;
  /** A physical name CloudFormation generates for `logicalId` of `type`. */
  generatedName(type: string, logicalId: string): string;
}

const RANDOM_SUFFIX = 'A1B2C3D4E5F6';
const SHORT_NAME_TYPES = new Set([
  'AWS::IAM::Role',
  'AWS::Lambda::Function',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
]);

function valuesFor(substitution: Substitution, stackName: string): Values {
  if (substitution === 'realistic') {
    return {
      partition: 'aws',
      region: 'us-east-1',
      account: '123456789012',
      urlSuffix: 'amazonaws.com',
      stackName,
      generatedName: (type, logicalId) => {
        const name = `${stackName}-${logicalId}`;
        return SHORT_NAME_TYPES.has(type) ? `${name.slice(0, 64 - 13)}-${RANDOM_SUFFIX}` : `${name}-${RANDOM_SUFFIX}`;
      },
    };
  }
  const worstStack = 's'.repeat(128);
  return {
    partition: 'aws-us-gov',
    region: 'r'.repeat(16),
    account: '123456789012',
    urlSuffix: 'amazonaws.com.cn',
    stackName: worstStack,
    generatedName: (type, logicalId) =>
      SHORT_NAME_TYPES.has(type) ? 'n'.repeat(64) : `${worstStack}-${logicalId}-${RANDOM_SUFFIX}`,
  };
}

/** Resolves the intrinsics found in policy documents to plain values. */
export class Resolver {
  private readonly values: Values;

  constructor(
    private readonly template: CfnTemplate,
    substitution: Substitution,
    stackName = 'Bench',
  ) {
    this.values = valuesFor(substitution, stackName);
  }

  public resolve(value: unknown): unknown {
    if (Array.isArray(value)) {
      return value.map((v) => this.resolve(v));
    }
    if (value === null || typeof value !== 'object') {
      return value;
    }
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      return this.intrinsic(keys[0], obj[keys[0]]);
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(obj[k])]));
  }

  private intrinsic(name: string, arg: unknown): unknown {
    switch (name) {
      case 'Ref':
        return this.ref(String(arg));
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
        return this.getAtt(String(logicalId), String(attribute));
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        const resolved = this.resolve(parts);
        if (!Array.isArray(resolved)) {
          throw new Error(`Fn::Join over a non-list: ${JSON.stringify(arg)}`);
        }
        return resolved.map(String).join(separator);
      }
      default:
        throw new Error(`Cannot size ${name}: ${JSON.stringify(arg)}`);
    }
  }

  private ref(target: string): string {
    const v = this.values;
    switch (target) {
      case 'AWS::Partition':
        return v.partition;
      case 'AWS::Region':
        return v.region;
      case 'AWS::AccountId':
        return v.account;
      case 'AWS::URLSuffix':
        return v.urlSuffix;
      case 'AWS::StackName':
        return v.stackName;
      case 'AWS::StackId':
        // arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>
        return `arn:${v.partition}:cloudformation:${v.region}:${v.account}:stack/${v.stackName}/5b7c6a10-0000-4000-8000-000000000000`;
    }
    const type = this.typeOf(target);
    return v.generatedName(type, target);
  }

  private getAtt(logicalId: string, attribute: string): string {
    const v = this.values;
    const type = this.typeOf(logicalId);
    const name = v.generatedName(type, logicalId);
    if (attribute !== 'Arn') {
      throw new Error(`Cannot size Fn::GetAtt ${logicalId}.${attribute}`);
    }
    switch (type) {
      case 'AWS::IAM::Role':
        return `arn:${v.partition}:iam::${v.account}:role/${name}`;
      case 'AWS::Lambda::Function':
        return `arn:${v.partition}:lambda:${v.region}:${v.account}:function:${name}`;
      case 'AWS::Logs::LogGroup':
        return `arn:${v.partition}:logs:${v.region}:${v.account}:log-group:${name}:*`;
      default:
        throw new Error(`Cannot size Fn::GetAtt ${logicalId}.Arn of a ${type}`);
    }
  }

  private typeOf(logicalId: string): string {
    const resource = this.template.Resources?.[logicalId];
    if (!resource) {
      throw new Error(`Ref to ${logicalId}, which is not a resource of the template`);
    }
    return resource.Type;
  }
}

/** Characters IAM counts for a policy document: its JSON with no whitespace outside strings. */
export function policyChars(resolvedDocument: unknown): number {
  return JSON.stringify(resolvedDocument).length;
}

/** Total inline policy characters per role (by the role's logical id, or its literal name). */
export function inlinePolicyCharsByRole(
  template: CfnTemplate,
  substitution: Substitution,
  stackName?: string,
): Map<string, number> {
  const resolver = new Resolver(template, substitution, stackName);
  const totals = new Map<string, number>();
  const add = (role: unknown, document: unknown) => {
    const key = roleKey(role);
    totals.set(key, (totals.get(key) ?? 0) + policyChars(resolver.resolve(document)));
  };
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Role':
        totals.set(logicalId, totals.get(logicalId) ?? 0);
        for (const policy of (props.Policies as { PolicyDocument: unknown }[] | undefined) ?? []) {
          add({ Ref: logicalId }, policy.PolicyDocument);
        }
        break;
      case 'AWS::IAM::Policy':
        for (const role of (props.Roles as unknown[] | undefined) ?? []) {
          add(role, props.PolicyDocument);
        }
        break;
      case 'AWS::IAM::RolePolicy':
        add(props.RoleName, props.PolicyDocument);
        break;
    }
  }
  return totals;
}

function roleKey(role: unknown): string {
  if (typeof role === 'string') {
    return role;
  }
  const ref = (role as { Ref?: unknown } | undefined)?.Ref;
  if (typeof ref === 'string') {
    return ref;
  }
  throw new Error(`Cannot tell which role ${JSON.stringify(role)} is`);
}

/** Characters of each customer managed policy in the template, by logical id. */
export function managedPolicyChars(
  template: CfnTemplate,
  substitution: Substitution,
  stackName?: string,
): Map<string, number> {
  const resolver = new Resolver(template, substitution, stackName);
  const sizes = new Map<string, number>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type === 'AWS::IAM::ManagedPolicy') {
      sizes.set(logicalId, policyChars(resolver.resolve(resource.Properties?.PolicyDocument)));
    }
  }
  return sizes;
}

/** The largest value of a map, with its key; [undefined, 0] for an empty map. */
export function largest(sizes: Map<string, number>): [string | undefined, number] {
  let best: [string | undefined, number] = [undefined, 0];
  for (const [key, size] of sizes) {
    if (size > best[1]) {
      best = [key, size];
    }
  }
  return best;
}

export function resourceCount(template: CfnTemplate): number {
  return Object.keys(template.Resources ?? {}).length;
}
