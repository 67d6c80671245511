import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';

/**
 * The handler function that every ProvisioningTemplateSettings of a stack
 * shares, with its role and log group: for alarms, permissions boundaries
 * and acknowledgements of findings, without reaching into the construct
 * tree.
 *
 * Get it with `ProvisioningTemplateSettings.handlerOf(stack)` or a
 * construct's `handler`.
 */
export interface SettingsHandler {
  /**
   * The handler function. CloudFormation invokes it; it answers
   * CloudFormation itself, so a failed deployment event shows in its logs,
   * not in its `Errors` metric, which counts only crashes and timeouts.
   */
  readonly handlerFunction: lambda.IFunction;

  /** The role the handler function runs as. */
  readonly role: iam.IRole;

  /**
   * The handler's log group: one JSON line per step; a deployment event that
   * failed logs `{"message": "failed", "reason": ...}`.
   */
  readonly logGroup: logs.ILogGroup;
}
