/**
 * The invoke permissions of the pre-provisioning hooks: AWS IoT may invoke a
 * hook function for the templates of this stack that use it, in this stack's
 * account, and nothing else. Owned by the stack's SettingsProvider
 * (lib/provider.ts), whose custom resources depend on them.
 *
 * Internal: not exported from the package's entry point.
 */
import { Annotations, Lazy, Names, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct, IConstruct } from 'constructs';
import { ScopedNames, scopeNames } from './scoping';

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

/**
 * The template patterns that `slots` invoke permissions of one hook grant:
 * the exact names, in the order given (adding a template adds a permission
 * and changes none), until there are more names than permissions; then
 * `prefix*` patterns (scopeNames), at most one per permission.
 *
 * @param names the templates using the hook, in registration order; duplicates are dropped
 * @param slots how many invoke permissions the hook has
 */
export function scopeHookTemplates(names: readonly string[], slots: number): ScopedNames {
  const unique = [...new Set(names)];
  const scoped = scopeNames(unique, (patterns) => patterns.length <= slots);
  return scoped.widened ? scoped : { patterns: unique, widened: false };
}

/** One hook function, the templates that use it, and its invoke permissions. */
interface Hook {
  readonly fn: lambda.IFunction;
  /** Holds the permissions: what a custom resource using the hook depends on. */
  readonly group: Construct;
  readonly templateNames: string[];
  readonly slots: lambda.CfnPermission[];
}

/**
 * The invoke permissions of every hook function used in one stack: one per
 * template using a function, each for that template's ARN, up to
 * MAX_HOOK_PERMISSIONS per function; past that, the templates are folded
 * into as many `prefix*` patterns, and a warning says so.
 */
export class HookPermissions {
  private readonly hooks = new Map<string, Hook>();

  /**
   * @param scope       where each function's permissions go, in a construct of their own
   * @param templateArn the ARN of a template, or of a `prefix*` pattern of templates
   */
  constructor(
    private readonly scope: Construct,
    private readonly templateArn: (namePattern: string) => string,
  ) {}

  /**
   * Let AWS IoT invoke `fn` for the template `templateName`. Returns the
   * construct that holds all of the function's permissions, so a custom
   * resource depends on each.
   */
  public grant(fn: lambda.IFunction, templateName: string): Construct {
    const key = fn.node.path;
    let hook = this.hooks.get(key);
    if (!hook) {
      const group = new Construct(this.scope, `HookInvoke${Names.nodeUniqueId(fn.node)}`);
      hook = { fn, group, templateNames: [], slots: [] };
      this.hooks.set(key, hook);
    }
    hook.templateNames.push(templateName);
    const { group, slots } = hook;
    if (slots.length < MAX_HOOK_PERMISSIONS) {
      const index = slots.length;
      slots.push(
        // The condition keys are the ones AWS IoT documents for its calls to a hook:
        // - "Pre-provisioning hooks", AWS IoT Core Developer Guide
        //   (https://docs.aws.amazon.com/iot/latest/developerguide/pre-provisioning-hook.html):
        //   "Be sure to include the source-arn or source-account in the global condition
        //   context keys of the policies attached to your Lambda action to prevent
        //   permission manipulation."
        // - "Cross-service confused deputy prevention", AWS IoT Core Developer Guide
        //   (https://docs.aws.amazon.com/iot/latest/developerguide/cross-service-confused-deputy-prevention.html):
        //   "For AWS IoT, your aws:SourceArn must comply with the format:
        //   arn:aws:iot:region:account-id:*", and with both keys "the aws:SourceAccount
        //   value and the account in the aws:SourceArn value must use the same account ID".
        // Neither page says which ARN AWS IoT passes as the source when it invokes a
        // hook. The template's ARN (the `templateArn` of the hook's input, on the first
        // page) fits the documented format, in the stack's partition, region and
        // account, the same account as SourceAccount; both keys are kept, as the
        // second page recommends. Were the source another ARN, this permission would
        // refuse the invocation and with it every registration: nothing offline can
        // tell (the integration test provisions no device).
        new lambda.CfnPermission(group, `Template${index}`, {
          action: 'lambda:InvokeFunction',
          functionName: fn.functionArn,
          principal: 'iot.amazonaws.com',
          sourceAccount: Stack.of(this.scope).account,
          sourceArn: Lazy.string({
            produce: () => {
              const { patterns } = this.scopedTemplates(fn);
              return this.templateArn(patterns[index % patterns.length]);
            },
          }),
        }),
      );
    }
    return group;
  }

  /** The template patterns the invoke permissions of `fn` grant, one per permission (scopeHookTemplates). */
  public scopedTemplates(fn: lambda.IFunction): ScopedNames {
    const hook = this.hooks.get(fn.node.path);
    return scopeHookTemplates(hook?.templateNames ?? [], hook?.slots.length ?? 0);
  }

  /** Whether `construct` is one of the invoke permissions, or holds some. */
  public holds(construct: IConstruct): boolean {
    const scopes = construct.node.scopes;
    return [...this.hooks.values()].some((hook) => scopes.includes(hook.group));
  }

  /** A warning on the scope for each function whose permissions are widened. */
  public warnIfWidened(): void {
    for (const { fn } of this.hooks.values()) {
      const hook = this.scopedTemplates(fn);
      if (hook.widened) {
        Annotations.of(this.scope).addWarningV2(
          HOOK_WIDENED_WARNING_ID,
          `Hook function ${fn.node.path} is used by more provisioning templates than its ${MAX_HOOK_PERMISSIONS} invoke permissions can name one each ` +
            `(each is a CloudFormation resource, and the function's resource policy is capped at 20 KB); AWS IoT may invoke it for the template name patterns ${hook.patterns.join(', ')}. ` +
            'Give the templates a shared name prefix to keep the widening narrow, or use more than one hook function.',
        );
      }
    }
  }
}
