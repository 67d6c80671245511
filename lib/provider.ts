/**
 * The one handler per stack that every ProvisioningTemplateSettings in that
 * stack shares: function, role, log group, the role's policy and the invoke
 * permissions of the pre-provisioning hooks.
 *
 * Permissions are rendered at synth time from every template registered in
 * the stack, so adding the 250th template changes one policy, not 250.
 *
 * Internal: not exported from the package's entry point.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  Annotations,
  ArnFormat,
  Aspects,
  CfnResource,
  Duration,
  ITaggable,
  Lazy,
  Names,
  RemovalPolicy,
  Stack,
  TagManager,
  TagType,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct, IConstruct } from 'constructs';
import { HandlerCode } from './handler-code';
import { MAX_TEMPLATE_NAME_LENGTH, ScopedNames, scopeNames } from './scoping';

/** Where the build puts the bundled handler (see scripts/bundle-handler.mjs). */
export const HANDLER_ASSET_DIR = path.join(__dirname, '..', 'assets', 'handler');

/** The bundle's sha256, written by the build next to the asset directory. */
export const HANDLER_HASH_FILE = path.join(__dirname, '..', 'assets', 'handler.sha256');

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

/** The handler's own timeout. It answers CloudFormation before this, whatever happens. */
export const HANDLER_TIMEOUT = Duration.minutes(3);

/**
 * CloudFormation's wait for an answer. Covers one redelivery of a crashed
 * invocation; a lost answer fails the stack after this, not after an hour.
 */
export const SERVICE_TIMEOUT = Duration.minutes(10);

/**
 * How long Lambda may hold an event of CloudFormation's (it invokes custom
 * resources asynchronously) before the handler starts on it, retries
 * included. An event that waited longer (throttled by the account's
 * concurrency, or a retry after a crash) is dropped, not run: started after
 * this, it could still be writing when CloudFormation has given up and its
 * rollback has removed the hook, and would set the hook again. Dropped, it
 * leaves CloudFormation to fail the resource at SERVICE_TIMEOUT.
 * MAX_EVENT_AGE + HANDLER_TIMEOUT < SERVICE_TIMEOUT. Every custom resource
 * depends on the function's event invoke config, so this holds from the
 * first event of a first deployment on.
 */
export const MAX_EVENT_AGE = Duration.minutes(6);

/** How long the handler's log group keeps its logs. */
export const LOG_RETENTION_DAYS = 365;

/** Warning id emitted when template permissions are widened to fit IAM's limit. */
export const WIDENED_WARNING_ID = 'cdk-iot-provisioning-template-settings:permissionsWidened';

/** Warning id emitted when a hook's invoke permissions are widened to MAX_HOOK_PERMISSIONS patterns. */
export const HOOK_WIDENED_WARNING_ID = 'cdk-iot-provisioning-template-settings:hookPermissionsWidened';

/**
 * Most invoke permissions one hook function gets from a stack: one per
 * template, each a statement of about 450 bytes in the function's resource
 * policy, which Lambda caps at 20 KB. Past this many templates, the
 * permissions are widened to shared `prefix*` patterns.
 *
 * Each permission is also a CloudFormation resource, and every one of them
 * stays in the stack once the cap is reached (the patterns are only known at
 * synth, so the permissions cannot shrink to their number). 7 keeps a stack of
 * N templates sharing one hook at N + 12 resources of this library (the
 * handler's 5 resources and 7 permissions); see test/scale.test.ts.
 */
export const MAX_HOOK_PERMISSIONS = 7;

const PROVIDER_ID = 'IoTProvisioningTemplateSettingsProvider';

// Worst-case lengths of the parts of an ARN that may be unresolved at synth.
const WORST_PARTITION = 'aws-us-gov';
const WORST_REGION = 'xx-xxxxxxxxx-16';
const WORST_ACCOUNT = '123456789012';
const WORST_ROLE_ARN_LENGTH = 160;
const WORST_LOG_GROUP_ARN_LENGTH = 300;
/** arn:aws-us-gov:cloudformation:<region>:<account>:stack/<128-character name>/<uuid> */
const WORST_STACK_ARN_LENGTH = 250;

/** One template managed by a construct in this stack. */
export interface Registration {
  readonly templateName: string;
  readonly hookFunction?: lambda.IFunction;
  readonly provisioningRole?: iam.IRole;
}

export class SettingsProvider extends Construct {
  /** The stack's provider, created on first use. */
  public static of(scope: IConstruct): SettingsProvider {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(PROVIDER_ID);
    return (existing as SettingsProvider | undefined) ?? new SettingsProvider(stack, PROVIDER_ID);
  }

  public readonly role: iam.Role;
  public readonly policy: iam.CfnPolicy;
  /** The handler function: the service token of every custom resource in the stack. */
  public readonly function: lambda.CfnFunction;
  /** Lambda's settings for CloudFormation's asynchronous events; the custom resources depend on it. */
  public readonly eventInvokeConfig: lambda.CfnEventInvokeConfig;
  private readonly logGroup: HandlerLogGroup;
  private readonly registrations: Registration[] = [];
  private readonly hookPermissions = new Map<
    string,
    { readonly fn: lambda.IFunction; readonly group: Construct; readonly slots: lambda.CfnPermission[] }
  >();

  private constructor(scope: Stack, id: string) {
    super(scope, id);

    const handlerHash = readHandlerHash();

    // The handler's function, its event invoke config and its log group are
    // L1s, at the paths (and so the logical ids) their L2s would have, as
    // aws-cdk-lib's own CustomResourceProvider builds its handlers: property
    // injectors and aspects written for lambda.Function or logs.LogGroup do
    // not change them (aspects on CfnFunction still do), and synth does not
    // load aws-logs for one log group (about 10 ms). The role stays an
    // iam.Role, for Role.customizeRoles and permissions boundaries.
    this.logGroup = new HandlerLogGroup(new Construct(this, 'Logs'), 'Resource');

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description:
        'Handler of Custom::IoTProvisioningTemplateSettings: reads and updates the IoT provisioning templates of this stack.',
    });

    // The policy is replaced, not updated, whenever what it grants changes:
    // a template removed from the stack keeps its permission until its own
    // Delete has run, because CloudFormation deletes the old policy in the
    // same cleanup, after the custom resources that depended on it.
    this.policy = new iam.CfnPolicy(this, 'Policy', {
      policyName: 'IoTProvisioningTemplateSettings',
      roles: [this.role.roleName],
      policyDocument: Lazy.any({ produce: () => this.renderPolicy() }),
    });
    // Every version of the policy goes when it is replaced, whatever removal
    // policy an aspect sets on the stack (RemovalPolicies.of(stack).retain()):
    // retained versions would stay attached to the role and add up past IAM's
    // limit. Raw overrides are rendered after cfnOptions, so they win.
    this.policy.addOverride('DeletionPolicy', 'Delete');
    this.policy.addOverride('UpdateReplacePolicy', 'Delete');
    // At synth, once every template is registered: one digest names both the
    // logical id and the policy name.
    Aspects.of(this).add({
      visit: (node) => {
        if (node === this.policy) {
          const digest = this.policyDigest();
          this.policy.overrideLogicalId(`${Stack.of(this).getLogicalId(this.policy)}${digest}`);
          this.policy.policyName = `IoTProvisioningTemplateSettings-${digest}`;
        }
      },
    });

    const handler = new Construct(this, 'Handler');
    // The hash is computed when the package is built, so synth need not fingerprint the bundle.
    const code = new HandlerCode(HANDLER_ASSET_DIR, handlerHash);
    const { s3Location } = code.bind(handler);
    if (!s3Location) {
      throw new Error('The handler bundle was not staged as an S3 asset.');
    }
    this.function = new lambda.CfnFunction(handler, 'Resource', {
      description: 'Applies IoT provisioning template settings for Custom::IoTProvisioningTemplateSettings',
      code: { s3Bucket: s3Location.bucketName, s3Key: s3Location.objectKey },
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X.name,
      architectures: [lambda.Architecture.ARM_64.name],
      memorySize: 256,
      timeout: HANDLER_TIMEOUT.toSeconds(),
      role: this.role.roleArn,
      loggingConfig: { logFormat: 'JSON', logGroup: this.logGroup.ref },
    });
    code.bindToResource(this.function);
    // Its only callers, the custom resources, depend on the policy too; this
    // keeps the policy (and so the function's right to log) until the
    // function itself is gone when the stack drops its last template.
    this.function.node.addDependency(this.policy);
    this.eventInvokeConfig = new lambda.CfnEventInvokeConfig(new Construct(handler, 'EventInvokeConfig'), 'Resource', {
      functionName: this.function.ref,
      qualifier: '$LATEST',
      maximumEventAgeInSeconds: MAX_EVENT_AGE.toSeconds(),
    });
    acknowledgeNagFindings(handler);

    this.node.addValidation({ validate: () => this.warnIfWidened() });
  }

  /**
   * Whether `construct` is one of the handler's own resources (its function,
   * role, policy and log group), which a hook never runs on; the hooks'
   * invoke permissions are not.
   */
  public ownsHandlerResource(construct: IConstruct): boolean {
    const scopes = construct.node.scopes;
    return scopes.includes(this) && ![...this.hookPermissions.values()].some((hook) => scopes.includes(hook.group));
  }

  /**
   * Register a template. Returns what its custom resource must depend on:
   * the policy (still in place when its Delete runs), the handler's event
   * invoke config (in force for its first event), and the invoke permissions
   * of its hook if it has one.
   */
  public register(registration: Registration): IConstruct[] {
    this.registrations.push(registration);
    const dependencies: IConstruct[] = [this.policy, this.eventInvokeConfig];
    if (registration.hookFunction) {
      dependencies.push(this.hookPermission(registration.hookFunction));
    }
    return dependencies;
  }

  /**
   * The invoke permissions of a hook function: one per template using it, each
   * for that template's ARN, up to MAX_HOOK_PERMISSIONS; past that, the
   * templates are folded into as many `prefix*` patterns. Returned as the
   * construct that holds them all, so a custom resource depends on each.
   */
  private hookPermission(fn: lambda.IFunction): Construct {
    const key = fn.node.path;
    let hook = this.hookPermissions.get(key);
    if (!hook) {
      hook = { fn, group: new Construct(this, `HookInvoke${Names.nodeUniqueId(fn.node)}`), slots: [] };
      this.hookPermissions.set(key, hook);
    }
    const { group, slots } = hook;
    if (slots.length < MAX_HOOK_PERMISSIONS) {
      const index = slots.length;
      slots.push(
        new lambda.CfnPermission(group, `Template${index}`, {
          action: 'lambda:InvokeFunction',
          functionName: fn.functionArn,
          principal: 'iot.amazonaws.com',
          sourceAccount: Stack.of(this).account,
          sourceArn: Lazy.string({
            produce: () => {
              const { patterns } = this.scopedHookTemplates(fn);
              return this.templateArn(patterns[index % patterns.length]);
            },
          }),
        }),
      );
    }
    return group;
  }

  /**
   * The template patterns a hook's invoke permissions grant, one per
   * permission: the exact names, in registration order (adding a template adds
   * a permission and changes none), until there are more templates than
   * permissions.
   */
  public scopedHookTemplates(fn: lambda.IFunction): ScopedNames {
    const key = fn.node.path;
    const names = [
      ...new Set(this.registrations.filter((r) => r.hookFunction?.node.path === key).map((r) => r.templateName)),
    ];
    const slots = this.hookPermissions.get(key)?.slots.length ?? 0;
    const scoped = scopeNames(names, (patterns) => patterns.length <= slots);
    return scoped.widened ? scoped : { patterns: names, widened: false };
  }

  /** ARN of a template, or of a `prefix*` pattern of templates, in this stack's account and region. */
  public templateArn(namePattern: string): string {
    return Stack.of(this).formatArn({
      service: 'iot',
      resource: 'provisioningtemplate',
      resourceName: namePattern,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  /** The template patterns the policy grants, narrowed to fit IAM's limit. */
  public scopedTemplates() {
    const roleArns = this.roleArns();
    return scopeNames(
      this.registrations.map((r) => r.templateName),
      (patterns) => estimatedPolicySize(patterns, roleArns) <= POLICY_BUDGET,
    );
  }

  private roleArns(): string[] {
    const arns = this.registrations.flatMap((r) => (r.provisioningRole ? [r.provisioningRole.roleArn] : []));
    return [...new Set(arns)];
  }

  /** A short digest of the policy's content: part of its logical id and name, so a change replaces it. */
  private policyDigest(): string {
    const rendered: unknown = Stack.of(this).resolve(this.renderPolicy());
    return createHash('sha256').update(JSON.stringify(rendered)).digest('hex').slice(0, 8).toUpperCase();
  }

  private renderPolicy() {
    const { patterns } = this.scopedTemplates();
    return policyDocument({
      logGroupArn: this.logGroup.getAtt('Arn').toString(),
      templateArns: patterns.map((p) => this.templateArn(p)),
      roleArns: this.roleArns(),
      stackArn: Stack.of(this).stackId,
    });
  }

  private warnIfWidened(): string[] {
    for (const { fn } of this.hookPermissions.values()) {
      const hook = this.scopedHookTemplates(fn);
      if (hook.widened) {
        Annotations.of(this).addWarningV2(
          HOOK_WIDENED_WARNING_ID,
          `Hook function ${fn.node.path} is used by more provisioning templates than its ${MAX_HOOK_PERMISSIONS} invoke permissions can name one each ` +
            `(each is a CloudFormation resource, and the function's resource policy is capped at 20 KB); AWS IoT may invoke it for the template name patterns ${hook.patterns.join(', ')}. ` +
            'Give the templates a shared name prefix to keep the widening narrow, or use more than one hook function.',
        );
      }
    }
    const { patterns, widened } = this.scopedTemplates();
    if (widened) {
      Annotations.of(this).addWarningV2(
        WIDENED_WARNING_ID,
        `${this.registrations.length} provisioning templates do not fit IAM's ${INLINE_POLICY_LIMIT}-character inline policy limit one ARN each; ` +
          `the handler's iot:DescribeProvisioningTemplate/iot:UpdateProvisioningTemplate permission is widened to the name patterns ${patterns.join(', ')}. ` +
          'Give the templates a shared name prefix to keep the widening narrow, or split them across stacks.',
      );
    }
    const size = estimatedPolicySize(patterns, this.roleArns());
    if (size > POLICY_BUDGET) {
      return [
        `The handler's policy would be about ${size} characters, over its ${POLICY_BUDGET}-character budget ` +
          `(half of IAM's ${INLINE_POLICY_LIMIT}-character limit, as old and new policy coexist while it is replaced), ` +
          `because ${this.roleArns().length} different provisioning roles are passed. Share provisioning roles, or split the templates across stacks.`,
      ];
    }
    return [];
  }
}

/** The handler's log group, kept for LOG_RETENTION_DAYS and retained; tagged like any L1 (`Tags.of(...)`). */
class HandlerLogGroup extends CfnResource implements ITaggable {
  public readonly tags = new TagManager(TagType.KEY_VALUE, 'AWS::Logs::LogGroup');

  constructor(scope: Construct, id: string) {
    super(scope, id, { type: 'AWS::Logs::LogGroup' });
    this.applyRemovalPolicy(RemovalPolicy.RETAIN);
  }

  protected get cfnProperties(): { [key: string]: unknown } {
    return { RetentionInDays: LOG_RETENTION_DAYS, Tags: this.tags.renderTags() };
  }
}

/** The bundled handler's sha256, as the build wrote it; a clear error when the package was not built. */
function readHandlerHash(): string {
  try {
    return fs.readFileSync(HANDLER_HASH_FILE, 'utf8').trim();
  } catch {
    throw new Error(
      `The bundled handler is missing from ${path.dirname(HANDLER_HASH_FILE)}. Run "npm run build" in the package first.`,
    );
  }
}

/**
 * The cdk-nag findings on the handler that are deliberate, acknowledged on the
 * handler function itself: never on the stack, never on users' resources.
 * Everything else cdk-nag checks (runtime, memory, timeout, log retention, no
 * managed policies, no wildcard actions) is fixed rather than acknowledged.
 * The template wildcard of a widened policy (see warnIfWidened) is not
 * acknowledged: a security team should see it and decide.
 */
function acknowledgeNagFindings(handler: Construct): void {
  Validations.of(handler).acknowledge(
    {
      id: 'Serverless-LambdaDLQ',
      reason:
        'Only CloudFormation invokes this function, asynchronously, with Custom::IoTProvisioningTemplateSettings events. ' +
        'The handler answers CloudFormation itself before its own timeout; an invocation that still fails shows as a failed stack ' +
        `operation after its ${SERVICE_TIMEOUT.toHumanString()} service timeout and is recorded in the handler's log group. A dead-letter queue would only ` +
        'keep CloudFormation events, pre-signed response URLs included, which are of no use once the stack operation has ended.',
    },
    {
      id: 'Serverless-LambdaAsyncFailureDestination',
      reason:
        `Lambda drops an event of CloudFormation's that waited over ${MAX_EVENT_AGE.toHumanString()}, on purpose: run later, it could set a hook ` +
        'again after the rollback removed it. CloudFormation then fails the resource at its service timeout; a failure destination ' +
        'would only keep events, pre-signed response URLs included, that are of no use once the stack operation has ended.',
    },
    {
      id: 'Serverless-LambdaTracing',
      reason:
        'Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords on Resource "*" (X-Ray has no ' +
        'resource-level permissions), which would widen the least-privilege role of a function invoked a few times per deployment. ' +
        'Each invocation logs its request (without the response URL), every write and retry to AWS IoT and its answer to ' +
        'CloudFormation as structured JSON in its own log group, kept for a year.',
    },
  );
}

interface PolicyParts {
  readonly logGroupArn: string;
  readonly templateArns: string[];
  readonly roleArns: string[];
  /** The handler's own stack. */
  readonly stackArn: string;
}

/** The handler's whole permission set. Used both to render the policy and to measure it. */
function policyDocument(parts: PolicyParts) {
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
      Action: ['iot:DescribeProvisioningTemplate', 'iot:UpdateProvisioningTemplate'],
      Resource: parts.templateArns,
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
  // wants it (a rollback may have started): lambda/index.ts,
  // Invocation#confirmStillCurrent. Its own stack only.
  statements.push({
    Sid: 'ReadOwnStack',
    Effect: 'Allow',
    Action: ['cloudformation:DescribeStackResource', 'cloudformation:DescribeStacks'],
    Resource: parts.stackArn,
  });
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
