/**
 * The one handler per stack that every ProvisioningTemplateSettings in that
 * stack shares: function, role, log group, the role's policy, and (through
 * lib/hook-permissions.ts) the invoke permissions of the pre-provisioning
 * hooks. The policy's content and size are lib/handler-policy.ts.
 *
 * Permissions are rendered at synth time from every template registered in
 * the stack, so adding the 250th template changes one policy, not 250.
 *
 * Internal: not exported from the package's entry point.
 */
import {
  Annotations,
  ArnFormat,
  Aspects,
  CfnResource,
  Duration,
  ITaggable,
  Lazy,
  RemovalPolicy,
  Stack,
  TagManager,
  TagType,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct, IConstruct } from 'constructs';
import { HandlerCode } from './handler-code';
import { acknowledgeNagFindings } from './handler-nag';
import { handlerRuntime } from './handler-runtime';
import {
  policyBudgetErrors,
  policyDigest,
  policyDocument,
  policyWidenedWarning,
  scopePolicyTemplates,
} from './handler-policy';
import { HookPermissions } from './hook-permissions';
import { ScopedNames } from './scoping';
import type { SettingsHandler } from './settings-handler';
import { TIMING } from './timing';

/** The handler's own timeout (lib/timing.ts). */
export const HANDLER_TIMEOUT = Duration.millis(TIMING.handlerTimeoutMs);

/** CloudFormation's wait for an answer (lib/timing.ts). */
export const SERVICE_TIMEOUT = Duration.millis(TIMING.serviceTimeoutMs);

/**
 * How long Lambda may hold an event of CloudFormation's before the handler starts on it (lib/timing.ts),
 * from a first deployment's first event on: every custom resource depends on the event invoke config.
 */
export const MAX_EVENT_AGE = Duration.millis(TIMING.maxEventAgeMs);

/** How long the handler's log group keeps its logs. */
export const LOG_RETENTION_DAYS = 365;

/** Warning id emitted when template permissions are widened to fit IAM's limit. */
export const WIDENED_WARNING_ID = 'cdk-iot-provisioning-template-settings:permissionsWidened';

const PROVIDER_ID = 'IoTProvisioningTemplateSettingsProvider';

/** One template managed by a construct in this stack. */
export interface Registration {
  readonly templateName: string;
  readonly hookFunction?: lambda.IFunction;
  readonly provisioningRole?: iam.IRole;
  /** Whether it asks for a drift check (the handler then lists the stack's resources). */
  readonly driftCheck?: boolean;
}

export class SettingsProvider extends Construct {
  /** The stack's provider, created on first use. */
  public static of(scope: IConstruct): SettingsProvider {
    return SettingsProvider.find(scope) ?? new SettingsProvider(Stack.of(scope), PROVIDER_ID);
  }

  /** The stack's provider, if a construct of that stack created it. */
  public static find(scope: IConstruct): SettingsProvider | undefined {
    return Stack.of(scope).node.tryFindChild(PROVIDER_ID) as SettingsProvider | undefined;
  }

  public readonly role: iam.Role;
  public readonly policy: iam.CfnPolicy;
  /** The handler function: the service token of every custom resource in the stack. */
  public readonly function: lambda.CfnFunction;
  /** Lambda's settings for CloudFormation's asynchronous events; the custom resources depend on it. */
  public readonly eventInvokeConfig: lambda.CfnEventInvokeConfig;
  private readonly logGroup: HandlerLogGroup;
  private readonly registrations: Registration[] = [];
  private access?: SettingsHandler;
  /** The invoke permissions of the hooks, in this construct. */
  private readonly hooks = new HookPermissions(this, (namePattern) => this.templateArn(namePattern));

  private constructor(scope: Stack, id: string) {
    super(scope, id);

    // Read first: an unbuilt package fails before anything is added to the stack.
    const code = HandlerCode.bundled();

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
          const digest = policyDigest(Stack.of(this).resolve(this.renderPolicy()));
          this.policy.overrideLogicalId(`${Stack.of(this).getLogicalId(this.policy)}${digest}`);
          this.policy.policyName = `IoTProvisioningTemplateSettings-${digest}`;
        }
      },
    });

    const handler = new Construct(this, 'Handler');
    const { s3Location } = code.bind(handler);
    if (!s3Location) {
      throw new Error('The handler bundle was not staged as an S3 asset.');
    }
    this.function = new lambda.CfnFunction(handler, 'Resource', {
      description: 'Applies IoT provisioning template settings for Custom::IoTProvisioningTemplateSettings',
      code: { s3Bucket: s3Location.bucketName, s3Key: s3Location.objectKey },
      handler: 'index.handler',
      runtime: handlerRuntime().name,
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
    return construct.node.scopes.includes(this) && !this.hooks.holds(construct);
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
      dependencies.push(this.hooks.grant(registration.hookFunction, registration.templateName));
    }
    return dependencies;
  }

  /**
   * The function, role and log group as their interfaces, for users
   * (SettingsHandler). Built on first use only: synth that never asks does
   * not load aws-logs or add the references.
   */
  public handler(): SettingsHandler {
    if (!this.access) {
      const scope = new Construct(this, 'Reference');
      // Loaded here, not at the top: one log group reference is not worth
      // loading aws-logs on every synth (see bench/).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const logs = require('aws-cdk-lib/aws-logs') as typeof import('aws-cdk-lib/aws-logs');
      this.access = {
        handlerFunction: lambda.Function.fromFunctionAttributes(scope, 'Function', {
          functionArn: this.function.attrArn,
          role: this.role,
          sameEnvironment: true,
        }),
        role: this.role,
        logGroup: logs.LogGroup.fromLogGroupName(scope, 'LogGroup', this.logGroup.ref),
      };
    }
    return this.access;
  }

  /** The template patterns a hook's invoke permissions grant, one per permission (HookPermissions). */
  public scopedHookTemplates(fn: lambda.IFunction): ScopedNames {
    return this.hooks.scopedTemplates(fn);
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
  public scopedTemplates(): ScopedNames {
    return scopePolicyTemplates(
      this.registrations.map((r) => r.templateName),
      this.roleArns(),
    );
  }

  private roleArns(): string[] {
    const arns = this.registrations.flatMap((r) => (r.provisioningRole ? [r.provisioningRole.roleArn] : []));
    return [...new Set(arns)];
  }

  private renderPolicy() {
    const { patterns } = this.scopedTemplates();
    return policyDocument({
      logGroupArn: this.logGroup.getAtt('Arn').toString(),
      templateArns: patterns.map((p) => this.templateArn(p)),
      roleArns: this.roleArns(),
      stackArn: Stack.of(this).stackId,
      rootStackArn: this.rootStackArn(),
      driftCheck: this.registrations.some((r) => r.driftCheck),
    });
  }

  /** For a nested stack, its root stack's ARN, by name (any stack id). */
  private rootStackArn(): string | undefined {
    const stack = Stack.of(this);
    let root = stack;
    while (root.nestedStackParent) root = root.nestedStackParent;
    return root === stack
      ? undefined
      : stack.formatArn({
          service: 'cloudformation',
          resource: 'stack',
          resourceName: `${root.stackName}/*`,
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        });
  }

  private warnIfWidened(): string[] {
    this.hooks.warnIfWidened();
    const { patterns, widened } = this.scopedTemplates();
    if (widened) {
      Annotations.of(this).addWarningV2(WIDENED_WARNING_ID, policyWidenedWarning(this.registrations.length, patterns));
    }
    return policyBudgetErrors(patterns, this.roleArns());
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
