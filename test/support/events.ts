/**
 * CloudFormation custom resource events for the handler, as CloudFormation
 * sends them (every scalar property a string). Shared by the unit tests and
 * the tests over HTTP.
 */
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceUpdateEvent,
  Context,
} from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { RESOURCE_TYPE, SettingsProperties } from '../../lib/handler-contract';

export const SERVICE_TOKEN = 'arn:aws:lambda:eu-west-1:111122223333:function:settings-handler';
export const STACK_ID = 'arn:aws:cloudformation:eu-west-1:111122223333:stack/test/5b7c6a10-0000-4000-8000-000000000000';
export const HOOK_ARN = 'arn:aws:lambda:eu-west-1:111122223333:function:hook';
export const OTHER_HOOK_ARN = 'arn:aws:lambda:eu-west-1:111122223333:function:someone-elses-hook';
export const ROLE_ARN = 'arn:aws:iam::111122223333:role/provisioning';
/** Looks like CloudFormation's pre-signed S3 URL; must never be logged. */
export const DEFAULT_RESPONSE_URL =
  'https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/arn%3Aaws%3Acloudformation%3Aeu-west-1%3A111122223333%3Astack/test/1|Settings|req?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLESECRET%2F20261125%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Signature=deadbeefcafe0123456789';

export type Props = Omit<SettingsProperties, 'ServiceToken'>;

/** Properties with every field set (a FLEET_PROVISIONING template with our hook). */
export function fullProps(overrides: Partial<Props> = {}): Props {
  return {
    TemplateName: 'sensor-fleet',
    Description: 'Sensors',
    Enabled: 'true',
    DefaultVersionId: '2',
    ProvisioningRoleArn: ROLE_ARN,
    PreProvisioningHook: { TargetArn: HOOK_ARN, PayloadVersion: '2020-04-01' },
    ...overrides,
  };
}

/** Properties with only the template name. */
export function minimalProps(overrides: Partial<Props> = {}): Props {
  return { TemplateName: 'sensor-fleet', ...overrides };
}

/** A fixed URL, or one made from the event's RequestId (so a fake server can tell answers apart). */
export type ResponseUrl = string | ((requestId: string) => string);

function common(responseUrl: ResponseUrl, logicalId: string) {
  const RequestId = randomUUID();
  return {
    ServiceToken: SERVICE_TOKEN,
    ResponseURL: typeof responseUrl === 'string' ? responseUrl : responseUrl(RequestId),
    StackId: STACK_ID,
    RequestId,
    LogicalResourceId: logicalId,
    ResourceType: RESOURCE_TYPE,
  };
}

function withToken(props: Props) {
  return {
    ServiceToken: SERVICE_TOKEN,
    ...props,
  } as unknown as CloudFormationCustomResourceCreateEvent['ResourceProperties'];
}

export function createEvent(
  props: Props,
  responseUrl: ResponseUrl = DEFAULT_RESPONSE_URL,
  logicalId = 'Settings',
): CloudFormationCustomResourceCreateEvent {
  return { ...common(responseUrl, logicalId), RequestType: 'Create', ResourceProperties: withToken(props) };
}

export function updateEvent(
  physicalId: string,
  props: Props,
  oldProps: Props,
  responseUrl: ResponseUrl = DEFAULT_RESPONSE_URL,
  logicalId = 'Settings',
): CloudFormationCustomResourceUpdateEvent {
  return {
    ...common(responseUrl, logicalId),
    RequestType: 'Update',
    PhysicalResourceId: physicalId,
    ResourceProperties: withToken(props),
    OldResourceProperties: withToken(oldProps),
  };
}

export function deleteEvent(
  physicalId: string,
  props: Props,
  responseUrl: ResponseUrl = DEFAULT_RESPONSE_URL,
  logicalId = 'Settings',
): CloudFormationCustomResourceDeleteEvent {
  return {
    ...common(responseUrl, logicalId),
    RequestType: 'Delete',
    PhysicalResourceId: physicalId,
    ResourceProperties: withToken(props),
  };
}

/** A Lambda context whose remaining time counts down from `timeoutMs`. */
export function lambdaContext(timeoutMs = 180_000): Context {
  const deadline = Date.now() + timeoutMs;
  const fail = () => {
    throw new Error('callback-style completion is not used by this handler');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'settings-handler',
    functionVersion: '$LATEST',
    invokedFunctionArn: SERVICE_TOKEN,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/settings-handler',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: fail,
    fail,
    succeed: fail,
  };
}
