/**
 * The AWS SDK clients of one run, all with the SDK's default configuration:
 * credentials from the default chain, and endpoints from the standard
 * variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_IOT`, ...) when they are
 * set, so a run can be pointed at any AWS-compatible endpoint.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { IAMClient } from '@aws-sdk/client-iam';
import { IoTClient } from '@aws-sdk/client-iot';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { STSClient } from '@aws-sdk/client-sts';

export interface Clients {
  readonly cfn: CloudFormationClient;
  readonly iot: IoTClient;
  readonly iam: IAMClient;
  readonly lambda: LambdaClient;
  readonly logs: CloudWatchLogsClient;
  readonly sts: STSClient;
}

/** Clients for `region`, or the SDK's default region when none is given. */
export function makeClients(region?: string): Clients {
  const config = region ? { region } : {};
  return {
    cfn: new CloudFormationClient(config),
    iot: new IoTClient(config),
    iam: new IAMClient(config),
    lambda: new LambdaClient(config),
    logs: new CloudWatchLogsClient(config),
    sts: new STSClient(config),
  };
}
