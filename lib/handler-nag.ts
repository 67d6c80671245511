/**
 * The cdk-nag findings on the shared handler that are deliberate, and why.
 *
 * Internal: not exported from the package's entry point.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { TIMING } from './timing';

const SERVICE_TIMEOUT = Duration.millis(TIMING.serviceTimeoutMs);
const MAX_EVENT_AGE = Duration.millis(TIMING.maxEventAgeMs);

/**
 * The cdk-nag findings on the handler that are deliberate, acknowledged on the
 * handler function itself: never on the stack, never on users' resources.
 * Everything else cdk-nag checks (runtime, memory, timeout, log retention, no
 * managed policies, no wildcard actions) is fixed rather than acknowledged.
 * The template wildcard of a widened policy (see warnIfWidened) is not
 * acknowledged: a security team should see it and decide.
 */
export function acknowledgeNagFindings(handler: Construct): void {
  Validations.of(handler).acknowledge(
    {
      id: 'Serverless-LambdaDLQ',
      reason:
        'CloudFormation invokes this function, asynchronously, with Custom::IoTProvisioningTemplateSettings events ' +
        '(and a drift check schedule, if asked for, with the stack id: a failed check runs again at the next interval). ' +
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
