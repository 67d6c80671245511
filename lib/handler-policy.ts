/**
 * The handler's permission set as an IAM policy document, the size IAM will
 * count for it, and the template patterns that keep it within its budget:
 * what lib/provider.ts renders into the handler's one inline policy.
 *
 * Pure functions, no constructs.
 *
 * Internal: not exported from the package's entry point.
 */
import { createHash } from 'crypto';
import { Token } from 'aws-cdk-lib';
import { MAX_TEMPLATE_NAME_LENGTH, ScopedNames, scopeNames } from './scoping';

/** IAM's limit on the total size of a role's inline policies, whitespace removed. */
export const INLINE_POLICY_LIMIT = 10_240;

/** Kept free below the limit, for what the estimate below cannot know exactly. */
const POLICY_SAFETY_MARGIN = 256;

/**
 * What one version of the handler's policy may take: half of IAM's limit, as
 * the old and the new version are both attached while CloudFormation
 * replaces the policy.
 */
export const POLICY_BUDGET = Math.floor((INLINE_POLICY_LIMIT - POLICY_SAFETY_MARGIN) / 2);

// Worst-case lengths of the parts of an ARN that may be unresolved at synth.
export const WORST_PARTITION = 'aws-us-gov';
export const WORST_REGION = 'xx-xxxxxxxxx-16';
export const WORST_ACCOUNT = '123456789012';
export const WORST_ROLE_ARN_LENGTH = 160;
export const WORST_LOG_GROUP_ARN_LENGTH = 300;
/** arn:aws-us-gov:cloudformation:<region>:<account>:stack/<128-character name>/<uuid> */
export const WORST_STACK_ARN_LENGTH = 250;

/** What the handler may do on each managed template (tagging only with OWN_TAG_KEYS). */
export const TEMPLATE_ACTIONS = [
  'iot:DescribeProvisioningTemplate',
  'iot:ListTagsForResource',
  'iot:TagResource',
  'iot:UntagResource',
  'iot:UpdateProvisioningTemplate',
];

/**
 * The actions limited to OWN_TAG_KEYS. AWS IoT documents `aws:TagKeys` for
 * both: "Actions, resources, and condition keys for AWS IoT", Service
 * Authorization Reference
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsiot.html),
 * and "Using tags with IAM policies", AWS IoT Core Developer Guide
 * (https://docs.aws.amazon.com/iot/latest/developerguide/tagging-iot-iam.html):
 * "Use aws:TagKeys: [tag-key, ...] to require that a specific set of tag keys
 * be used (or not used) when making an API request to create or modify a
 * resource that allows tags."
 */
export const TAG_ACTIONS = ['iot:TagResource', 'iot:UntagResource'];

/**
 * The tag keys the handler may set and remove: its own namespace, which holds
 * its owner tag and its record tags (OWNER_TAG and RECORD_TAG in
 * lambda/record.ts; test/handler-policy.test.ts checks that they match).
 */
export const OWN_TAG_KEYS = 'iot-provisioning-template-settings:*';

/** What the handler's policy grants access to: ARNs, or tokens that resolve to them at deploy. */
export interface PolicyParts {
  readonly logGroupArn: string;
  readonly templateArns: string[];
  readonly roleArns: string[];
  /** The handler's own stack. */
  readonly stackArn: string;
  /**
   * For a nested stack, its root stack (a name pattern): a Delete in a nested
   * stack being deleted asks whether the root is rolling back.
   */
  readonly rootStackArn?: string;
  /** A drift check lists the stack's resources (lambda/drift.ts). */
  readonly driftCheck?: boolean;
}

/** The handler's whole permission set. Used both to render the policy and to measure it. */
export function policyDocument(parts: PolicyParts) {
  const statements: object[] = [
    {
      Sid: 'WriteOwnLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: parts.logGroupArn,
    },
    {
      Sid: 'ManageProvisioningTemplates',
      Effect: 'Allow',
      Action: TEMPLATE_ACTIONS,
      Resource: parts.templateArns,
    },
    // The handler keeps its ownership record on the template, as tags
    // (lambda/record.ts), and may set or remove only tags of its own. A
    // Deny rather than a conditioned Allow: it names no template, so the
    // template ARNs are listed once (their number is what the policy's size
    // limit counts), and no other Allow on the role can lift it.
    {
      Sid: 'TagOnlyOwnKeys',
      Effect: 'Deny',
      Action: TAG_ACTIONS,
      Resource: '*',
      Condition: { 'ForAnyValue:StringNotLike': { 'aws:TagKeys': OWN_TAG_KEYS } },
    },
  ];
  if (parts.roleArns.length > 0) {
    statements.push({
      Sid: 'PassProvisioningRoles',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: parts.roleArns,
      Condition: { StringEquals: { 'iam:PassedToService': 'iot.amazonaws.com' } },
    });
  }
  // After a write, the handler asks CloudFormation whether the stack still
  // wants it (a rollback may have started), and a Delete asks whether the
  // stack is rolling back (lambda/check.ts, lambda/plan.ts). Its own stack only,
  // and for a nested stack the root's status (the estimate below leaves that
  // statement out: the budget is half IAM's limit).
  statements.push({
    Sid: 'ReadOwnStack',
    Effect: 'Allow',
    Action: [
      'cloudformation:DescribeStackResource',
      'cloudformation:DescribeStacks',
      ...(parts.driftCheck ? ['cloudformation:ListStackResources'] : []),
    ],
    Resource: parts.stackArn,
  });
  if (parts.rootStackArn) {
    statements.push({
      Sid: 'ReadRootStack',
      Effect: 'Allow',
      Action: 'cloudformation:DescribeStacks',
      Resource: parts.rootStackArn,
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** Size of the policy as IAM counts it (no whitespace), with every unresolved part at its worst-case length. */
export function estimatedPolicySize(templatePatterns: readonly string[], roleArns: readonly string[]): number {
  const worst = (value: string, length: number) => (Token.isUnresolved(value) ? 'x'.repeat(length) : value);
  const doc = policyDocument({
    logGroupArn: 'x'.repeat(WORST_LOG_GROUP_ARN_LENGTH),
    templateArns: templatePatterns.map(
      (p) =>
        `arn:${WORST_PARTITION}:iot:${WORST_REGION}:${WORST_ACCOUNT}:provisioningtemplate/${worst(p, MAX_TEMPLATE_NAME_LENGTH)}`,
    ),
    roleArns: roleArns.map((arn) => worst(arn, WORST_ROLE_ARN_LENGTH)),
    stackArn: 'x'.repeat(WORST_STACK_ARN_LENGTH),
  });
  return JSON.stringify(doc).length;
}

/** The template patterns the policy grants: `templateNames`, narrowed (scopeNames) until the policy fits POLICY_BUDGET. */
export function scopePolicyTemplates(templateNames: readonly string[], roleArns: readonly string[]): ScopedNames {
  return scopeNames(templateNames, (patterns) => estimatedPolicySize(patterns, roleArns) <= POLICY_BUDGET);
}

/**
 * Why a policy granting `templatePatterns` and `roleArns` cannot be deployed:
 * nothing, or that it is over its budget. Only the roles can take it there, as
 * the patterns of scopePolicyTemplates fold down to `*`.
 */
export function policyBudgetErrors(templatePatterns: readonly string[], roleArns: readonly string[]): string[] {
  const size = estimatedPolicySize(templatePatterns, roleArns);
  if (size > POLICY_BUDGET) {
    return [
      `The handler's policy would be about ${size} characters, over its ${POLICY_BUDGET}-character budget ` +
        `(half of IAM's ${INLINE_POLICY_LIMIT}-character limit, as old and new policy coexist while it is replaced), ` +
        `because ${roleArns.length} different provisioning roles are passed. Share provisioning roles, or split the templates across stacks.`,
    ];
  }
  return [];
}

/** What the warning says when scopePolicyTemplates widened the patterns of `templateCount` templates to `patterns`. */
export function policyWidenedWarning(templateCount: number, patterns: readonly string[]): string {
  return (
    `${templateCount} provisioning templates do not fit IAM's ${INLINE_POLICY_LIMIT}-character inline policy limit one ARN each; ` +
    `the handler's permissions on them (${TEMPLATE_ACTIONS.join(', ')}) are widened to the name patterns ${patterns.join(', ')}. ` +
    'Give the templates a shared name prefix to keep the widening narrow, or split them across stacks.'
  );
}

/** A short digest of a resolved policy document: part of the policy's logical id and name, so a change replaces it. */
export function policyDigest(resolvedDocument: unknown): string {
  return createHash('sha256').update(JSON.stringify(resolvedDocument)).digest('hex').slice(0, 8).toUpperCase();
}
