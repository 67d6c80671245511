import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DriftCheck } from './drift-check';
import { ProvisioningHook } from './provisioning-hook';

/** Properties of a ProvisioningTemplateSettings. */
export interface ProvisioningTemplateSettingsProps {
  /**
   * Name of the existing provisioning template to manage: 1-36 characters of
   * letters, digits, `_` and `-`. A token, such as `CfnProvisioningTemplate.ref`,
   * is accepted (and checked by AWS IoT at deploy time); with the `ref` of a
   * template of the same stack, the settings are applied again after each
   * change of that template's properties.
   *
   * One app may manage a template from one construct only: the same name (or
   * the same token) twice in one stack, or in one known account and region,
   * is an error (a warning when a stack's environment is not known).
   *
   * With the `ref` of a template of the same stack, put description, enabled
   * and the hook on this construct only (README, "A template of the same
   * stack"): a setting given here and on the template with different values
   * is a warning, as is `enabled` on the template while this construct sets a
   * hook, and a value of the template that changes at deploy time but cannot
   * be followed (a secret dynamic reference, a NoEcho parameter).
   */
  readonly templateName: string;

  /**
   * The template's description: at most 500 characters, no control or
   * other invisible characters (Unicode category C, such as line breaks,
   * tabs or zero-width spaces), as AWS IoT requires.
   *
   * @default - not managed: the template keeps its current description
   */
  readonly description?: string;

  /**
   * Whether devices may be provisioned with the template.
   *
   * @default - not managed: the template stays enabled or disabled as it is
   */
  readonly enabled?: boolean;

  /**
   * The template version devices are provisioned with: a positive whole
   * number, the ID of an existing version of the template.
   *
   * With the `ref` of a `CfnProvisioningTemplate` of the same stack as
   * `templateName`, a synth warning says that a change to that template's
   * body creates a new default version, which this pinned version then
   * replaces again.
   *
   * @default - not managed: the template keeps its current default version
   */
  readonly defaultVersionId?: number;

  /**
   * The role AWS IoT assumes to provision devices. The handler is granted
   * `iam:PassRole` on this role, for `iot.amazonaws.com` only.
   *
   * @default - not managed: the template keeps its current role
   */
  readonly provisioningRole?: iam.IRole;

  /**
   * A Lambda function AWS IoT calls to approve each device before it is
   * provisioned. Only FLEET_PROVISIONING templates accept one. AWS IoT is
   * granted permission to invoke the function.
   *
   * AWS IoT invokes only a function of the template's own account, the
   * stack's: a function of another account is an error at synth, and a
   * warning when either account is known only at deploy time.
   *
   * A hook on a template of the same stack whose `templateType` is not
   * FLEET_PROVISIONING is an error at synth.
   *
   * AWS IoT waits 5 seconds for the hook's answer, then fails the
   * registration: a hook function defined in the app (or an alias or version
   * of one) whose timeout is over 5 seconds is a warning at synth, as is one
   * whose reserved concurrency is 0 (Lambda throttles every call of it). An
   * alias or a version works as the hook: AWS IoT is granted permission to
   * invoke the qualified ARN the template names.
   *
   * Removing the hook from these props removes it from the template, provided
   * the template's hook is still the one this construct set.
   *
   * @default - no hook is set, and a hook set by someone else is left alone
   */
  readonly preProvisioningHook?: ProvisioningHook;

  /**
   * What happens to the template when this construct is removed from the stack.
   *
   * The policies, one by one:
   *
   * - `RemovalPolicy.DESTROY`: the hook this construct set is removed from the
   *   template (the template itself is never deleted).
   * - `RemovalPolicy.RETAIN`: the template is left exactly as it is (also
   *   when a failed Create is rolled back).
   * - `RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE`: the template is left as it
   *   is, except when the Create that set it is rolled back: then the hook is
   *   removed as with DESTROY.
   * - `RemovalPolicy.SNAPSHOT` is refused: a template has no snapshot.
   *
   * With a `preProvisioningHook`, the two RETAIN policies are refused at synth
   * unless every resource of this stack, and of the hook function's stack, is
   * retained as well, as `RemovalPolicies.of(stack).retain()` does: the kept
   * template would otherwise point at a hook that AWS IoT can no longer call
   * (its invoke permission, function, role or anything it uses deleted), and
   * every device registration would be refused. The same check applies when
   * a `RemovalPolicies` aspect sets the policy.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Compare the template's settings with those this construct last applied,
   * on a schedule, to see changes made outside the stack: `DriftCheck.report()`
   * logs each difference and counts it in `metricDrift()`;
   * `DriftCheck.restore()` also writes the applied settings back while the
   * stack is not being deployed. One schedule per stack checks every
   * template whose construct asks.
   *
   * @default - no drift check
   */
  readonly driftCheck?: DriftCheck;
}
