/**
 * What synth can see of a pre-provisioning hook that keeps it from answering
 * AWS IoT in time, or from being invoked at all:
 *
 * - a timeout over AWS IoT's 5 seconds (hookTimeoutTooLong);
 * - a reserved concurrency of 0, with which Lambda throttles every call
 *   (hookReservedConcurrencyZero).
 *
 * Both are read from the `AWS::Lambda::Function` of a function defined in the
 * app (a `lambda.Function`, or an alias or version of one); an imported
 * function shows nothing of either, and gets no warning. What is not checked,
 * and why: docs/operating.md.
 *
 * AWS IoT Core Developer Guide, "Pre-provisioning hooks"
 * (https://docs.aws.amazon.com/iot/latest/developerguide/pre-provisioning-hook.html):
 * "The Lambda function must finish running and return within 5 seconds,
 * otherwise the provisioning request fails."
 *
 * Internal: not exported from the package's entry point.
 */
import { CfnResource, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/** Warning: the hook function's timeout is over AWS IoT's limit for a hook's answer. */
export const HOOK_TIMEOUT_WARNING_ID = 'cdk-iot-provisioning-template-settings:hookTimeoutTooLong';

/** Warning: the hook function's reserved concurrency is 0, so Lambda throttles every invocation. */
export const HOOK_CONCURRENCY_WARNING_ID = 'cdk-iot-provisioning-template-settings:hookReservedConcurrencyZero';

/** How long AWS IoT waits for a pre-provisioning hook's answer before it fails the registration. */
export const HOOK_ANSWER_LIMIT_SECONDS = 5;

/** Lambda's timeout for a function that sets none. */
const LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3;

/** A warning for the construct: its id, and the message naming what to do. */
export interface HookWarning {
  readonly id: string;
  readonly message: string;
}

/**
 * The `AWS::Lambda::Function` behind `fn`: its own for a function defined in
 * the app, that of the function an alias or version points at; undefined for
 * an imported function.
 */
export function hookCfnFunction(fn: lambda.IFunction): lambda.CfnFunction | undefined {
  // An alias, a version and `fn.latestVersion` (of a class aws-lambda does not
  // export) all name the function behind them `lambda`, as IVersion does.
  const target = (fn as Partial<lambda.IVersion>).lambda ?? fn;
  const child = target.node.defaultChild;
  return child !== undefined &&
    CfnResource.isCfnResource(child) &&
    child.cfnResourceType === lambda.CfnFunction.CFN_RESOURCE_TYPE_NAME
    ? (child as lambda.CfnFunction)
    : undefined;
}

/**
 * The warnings for a hook function that cannot answer AWS IoT in time, or
 * cannot be invoked: none for a function whose settings synth cannot read
 * (imported, or given as tokens).
 */
export function hookWarnings(fn: lambda.IFunction): HookWarning[] {
  const cfn = hookCfnFunction(fn);
  if (!cfn) {
    return [];
  }
  const warnings: HookWarning[] = [];
  const timeout = cfn.timeout ?? LAMBDA_DEFAULT_TIMEOUT_SECONDS;
  if (!Token.isUnresolved(timeout) && timeout > HOOK_ANSWER_LIMIT_SECONDS) {
    warnings.push({
      id: HOOK_TIMEOUT_WARNING_ID,
      message:
        `preProvisioningHook ${fn.node.path} runs on ${cfn.node.path} with a timeout of ${timeout} seconds, but AWS IoT ` +
        `waits ${HOOK_ANSWER_LIMIT_SECONDS} seconds for a pre-provisioning hook's answer (AWS IoT Developer Guide, "Pre-provisioning hooks"): ` +
        'a device whose hook call takes longer fails to register, while the function runs on unseen. ' +
        `Set the function's timeout to ${HOOK_ANSWER_LIMIT_SECONDS} seconds or less (Lambda's default, ${LAMBDA_DEFAULT_TIMEOUT_SECONDS} seconds, fits) ` +
        "so that a slow call shows as the function's own timeout error (its Errors metric), and keep its work, cold start included, within it.",
    });
  }
  // A token is never 0.
  if (cfn.reservedConcurrentExecutions === 0) {
    warnings.push({
      id: HOOK_CONCURRENCY_WARNING_ID,
      message:
        `preProvisioningHook ${fn.node.path} runs on ${cfn.node.path}, whose reservedConcurrentExecutions is 0: Lambda throttles ` +
        'every invocation of it, so AWS IoT cannot call the hook and every device registration with this template fails. ' +
        'Remove reservedConcurrentExecutions, or set it to at least the number of devices that register at once.',
    });
  }
  return warnings;
}
