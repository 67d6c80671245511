import { Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/** The payload version used when none is given: the only one AWS IoT accepts today. */
const DEFAULT_PAYLOAD_VERSION = '2020-04-01';

/** Options for a pre-provisioning hook. */
export interface ProvisioningHookOptions {
  /**
   * The payload version AWS IoT sends to the hook function: 10-32 characters
   * of digits and `-`.
   *
   * @default '2020-04-01' - the only version AWS IoT accepts today
   */
  readonly payloadVersion?: string;
}

/**
 * A pre-provisioning hook: a Lambda function AWS IoT invokes to approve or
 * refuse each device before it is provisioned by a FLEET_PROVISIONING template.
 */
export class ProvisioningHook {
  /**
   * A hook backed by a Lambda function. The construct grants
   * `iot.amazonaws.com` permission to invoke it, for this account's templates.
   *
   * An alias or a version works as well: the template names its qualified
   * ARN, and so does the permission. `fn.latestVersion` is taken as `fn`
   * itself, whose unqualified ARN invokes `$LATEST`: Lambda takes no
   * permission on `$LATEST`.
   */
  public static fromFunction(hookFunction: lambda.IFunction, options: ProvisioningHookOptions = {}): ProvisioningHook {
    return new ProvisioningHook(withoutLatest(hookFunction), options.payloadVersion ?? DEFAULT_PAYLOAD_VERSION);
  }

  /** The Lambda function AWS IoT invokes. */
  public readonly hookFunction: lambda.IFunction;

  /** The payload version AWS IoT sends to the function. */
  public readonly payloadVersion: string;

  private constructor(hookFunction: lambda.IFunction, payloadVersion: string) {
    if (!Token.isUnresolved(payloadVersion) && !/^[0-9-]{10,32}$/.test(payloadVersion)) {
      throw new Error(
        `ProvisioningHook payloadVersion must be 10-32 characters of digits and '-' (such as '${DEFAULT_PAYLOAD_VERSION}'); got '${payloadVersion}'.`,
      );
    }
    this.hookFunction = hookFunction;
    this.payloadVersion = payloadVersion;
  }
}

/**
 * `fn.latestVersion` as the function behind it. A permission for its
 * qualified ARN (`...:$LATEST`) could not be created: "Lambda does not support
 * adding policies to version $LATEST" (Lambda API Reference, AddPermission).
 */
function withoutLatest(fn: lambda.IFunction): lambda.IFunction {
  const version = fn as Partial<lambda.IVersion>;
  return version.version === '$LATEST' && version.lambda ? version.lambda : fn;
}
