/**
 * The stack's drift check schedule and the check of its interval (DriftCheck
 * is lib/drift-check.ts). Internal: not exported from the package's entry point.
 */
import { Duration, Lazy, Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { DriftCheck } from './drift-check';
import { DriftCheckEvent } from './handler-contract';
import type { SettingsProvider } from './provider';

/** The problem with a drift check's interval, if any. */
export function intervalProblem(check: DriftCheck): string | undefined {
  const interval = check.interval;
  const minutes = interval.toMinutes({ integral: false });
  // At most 12 hours: metricDrift() spans two intervals, and CloudWatch alarms take periods up to a day.
  return Number.isInteger(minutes) && minutes >= 1 && minutes <= 720
    ? undefined
    : `driftCheck's interval must be a whole number of minutes from 1 minute to 12 hours; got ${interval.toHumanString()}.`;
}

/**
 * The stack's one drift check schedule: an EventBridge rule that invokes the
 * handler with the stack's id, at the shortest interval asked for. L1s, as
 * the handler itself (lib/provider.ts).
 */
export class DriftSchedule extends Construct {
  /** The stack's schedule, created when the first construct asks for a check. */
  public static of(provider: SettingsProvider): DriftSchedule {
    return (provider.node.tryFindChild('DriftCheck') as DriftSchedule) ?? new DriftSchedule(provider, 'DriftCheck');
  }

  private readonly minutes: number[] = [];

  private constructor(provider: SettingsProvider, id: string) {
    super(provider, id);
    // Loaded here: a stack without a drift check never loads aws-events.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const events = require('aws-cdk-lib/aws-events') as typeof import('aws-cdk-lib/aws-events');
    const input: DriftCheckEvent = { driftCheck: Stack.of(this).stackId };
    const rule = new events.CfnRule(this, 'Rule', {
      description:
        'Drift check of the IoT provisioning templates of this stack (Custom::IoTProvisioningTemplateSettings)',
      scheduleExpression: Lazy.string({ produce: () => rate(Math.min(...this.minutes)) }),
      targets: [{ id: 'Handler', arn: provider.function.attrArn, input: Stack.of(this).toJsonString(input) }],
    });
    Validations.of(rule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'The event is only the stack id, and the check is idempotent and runs again at the next interval: a dead-letter queue ' +
        "would keep nothing worth replaying. A check that fails is a Lambda error (the handler function's Errors metric) and " +
        "a 'not checked' line in the handler's log group.",
    });
    new lambda.CfnPermission(this, 'InvokeHandler', {
      action: 'lambda:InvokeFunction',
      functionName: provider.function.attrArn,
      principal: 'events.amazonaws.com',
      sourceAccount: Stack.of(this).account,
      sourceArn: rule.attrArn,
    });
  }

  /** Ask for a check at least every `interval`. */
  public request(interval: Duration): void {
    this.minutes.push(interval.toMinutes());
  }
}

function rate(minutes: number): string {
  return `rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`;
}
