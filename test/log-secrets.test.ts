/**
 * Nothing secret reaches the handler's logs: not CloudFormation's pre-signed
 * response URL (whoever holds it can answer for the stack), nor any piece of
 * its signature, nor the function's credentials from the environment.
 *
 * Drives the handler (lambda/index.ts) through a full lifecycle, Create,
 * Update and Delete, plus the paths that log the most (retries, a failure, a
 * Create cancelled by a rollback, a failed answer to CloudFormation), and
 * captures everything it writes.
 */
import { CloudFormationClient, DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
import {
  ConflictingResourceUpdateException,
  DescribeProvisioningTemplateCommand,
  IoTClient,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateProvisioningTemplateCommand,
} from '@aws-sdk/client-iot';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../lambda';
import { createEvent, deleteEvent, fullProps, lambdaContext, updateEvent } from './support/events';

const SIGNATURE = '2f9d1c7e4b8a6f3e0d5c9b7a1e4f8d2c6b0a9e3f7d1c5b8a2e6f0d4c8b3a7e1f';
const SECURITY_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLEpresignedSessionTokenFORtheRESPONSEurl0123456789abcdef';
const CREDENTIAL = 'ASIAEXAMPLEPRESIGNER';
/** A CloudFormation response URL as it really looks: a pre-signed S3 PUT. */
const RESPONSE_URL =
  'https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/' +
  'arn%3Aaws%3Acloudformation%3Aeu-west-1%3A111122223333%3Astack/fleet/5b6f0a10-cafe-11ef-9c3e-0a1b2c3d4e5f%7CSettings%7C' +
  '7d3e9f1a-1b2c-4d5e-8f90-a1b2c3d4e5f6' +
  '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261125T203000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=7200' +
  `&X-Amz-Credential=${CREDENTIAL}%2F20261125%2Feu-west-1%2Fs3%2Faws4_request` +
  `&X-Amz-Security-Token=${encodeURIComponent(SECURITY_TOKEN)}` +
  `&X-Amz-Signature=${SIGNATURE}`;

/** The function's own credentials, as Lambda puts them in its environment. */
const ENV_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'ASIAFUNCTIONROLEKEY1',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYfunctionSECRETkey',
  AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEFUNCTIONsessionTOKENexample+/=0123456789abcdefghijklmnop',
};

/** Everything that must not appear in any log line, in any form the handler might write it. */
const SECRETS: Record<string, string> = {
  'response URL': RESPONSE_URL,
  'response URL, decoded': decodeURIComponent(RESPONSE_URL),
  'response URL path': RESPONSE_URL.split('?')[0],
  signature: SIGNATURE,
  'presigning session token': SECURITY_TOKEN,
  'presigning session token, encoded': encodeURIComponent(SECURITY_TOKEN),
  'presigning credential': CREDENTIAL,
  ...ENV_CREDENTIALS,
};

const TEMPLATE_NAME = 'sensor-fleet';
const TEMPLATE_ARN = `arn:aws:iot:eu-west-1:111122223333:provisioningtemplate/${TEMPLATE_NAME}`;
const HOOK_ARN = 'arn:aws:lambda:eu-west-1:111122223333:function:device-check';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/fleet-provisioning';

const iot = mockClient(IoTClient);
const cfn = mockClient(CloudFormationClient);
/** The custom resource's status, as CloudFormation reports it when the handler asks after a write. */
let resourceStatus = 'CREATE_IN_PROGRESS';
const output: string[] = [];
const fetchMock = jest.fn();
const saved: Record<string, string | undefined> = {};
const originalFetch = global.fetch;

const TUNABLES = {
  SETTINGS_RETRY_BASE_DELAY_MS: '1',
  SETTINGS_RETRY_MAX_DELAY_MS: '2',
  SETTINGS_RESPONSE_RESERVE_MS: '1000',
  SETTINGS_ROLE_PROPAGATION_MS: '10',
  SETTINGS_CHECK_RESERVE_MS: '100',
};

beforeAll(() => {
  for (const [name, value] of Object.entries({ ...ENV_CREDENTIALS, ...TUNABLES, AWS_REGION: 'eu-west-1' })) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
  global.fetch = fetchMock as unknown as typeof fetch;
  const capture = (...args: unknown[]) => {
    output.push(args.map((a) => (typeof a === 'string' ? a : (JSON.stringify(a) ?? String(a)))).join(' '));
  };
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    jest.spyOn(console, method).mockImplementation(capture);
  }
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    jest.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      output.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write);
  }
});

afterAll(() => {
  jest.restoreAllMocks();
  global.fetch = originalFetch;
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** No mocked answers but the tagging calls' (the owner tag and record, lambda/record.ts). */
function resetIot() {
  iot.reset();
  iot.on(ListTagsForResourceCommand).resolves({ tags: [] });
  iot.on(TagResourceCommand).resolves({});
  iot.on(UntagResourceCommand).resolves({});
}

beforeEach(() => {
  resetIot();
  cfn.reset();
  resourceStatus = 'CREATE_IN_PROGRESS';
  cfn.on(DescribeStackResourceCommand).callsFake(() => ({ StackResourceDetail: { ResourceStatus: resourceStatus } }));
  fetchMock.mockReset();
  fetchMock.mockResolvedValue(new Response(null, { status: 200 }));
});

/** Every prop set; with or without our hook. */
const props = (hook: boolean) =>
  fullProps({
    TemplateName: TEMPLATE_NAME,
    ProvisioningRoleArn: ROLE_ARN,
    PreProvisioningHook: hook ? { TargetArn: HOOK_ARN, PayloadVersion: '2020-04-01' } : undefined,
  });

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  hook: boolean,
  oldHook = true,
): CloudFormationCustomResourceEvent {
  switch (requestType) {
    case 'Create':
      return createEvent(props(hook), RESPONSE_URL);
    case 'Update':
      return updateEvent(TEMPLATE_NAME, props(hook), props(oldHook), RESPONSE_URL);
    case 'Delete':
      return deleteEvent(TEMPLATE_NAME, props(hook), RESPONSE_URL);
  }
}

const context = () => lambdaContext(60_000);

function describeWith(hookArn: string | undefined) {
  return {
    templateName: TEMPLATE_NAME,
    templateArn: TEMPLATE_ARN,
    type: 'FLEET_PROVISIONING' as const,
    enabled: true,
    defaultVersionId: 2,
    provisioningRoleArn: ROLE_ARN,
    ...(hookArn ? { preProvisioningHook: { targetArn: hookArn, payloadVersion: '2020-04-01' } } : {}),
  };
}

/** The answers the handler PUT to the response URL. */
function answers(): { url: string; body: Record<string, unknown> }[] {
  return fetchMock.mock.calls.map(([url, init]) => ({
    url: String(url),
    body: JSON.parse((init as RequestInit).body as string),
  }));
}

function expectNoSecretIn(lines: string[]) {
  const text = lines.join('\n');
  for (const [what, secret] of Object.entries(SECRETS)) {
    if (text.includes(secret)) {
      throw new Error(`the ${what} appears in the handler's log output:\n${lines.find((l) => l.includes(secret))}`);
    }
  }
}

describe("the handler's log output holds no secret", () => {
  test('Create, Update (hook removed) and Delete', async () => {
    const start = output.length;
    // Create: the template has no hook yet; one update sets everything.
    iot.on(DescribeProvisioningTemplateCommand).resolves(describeWith(undefined));
    iot.on(UpdateProvisioningTemplateCommand).resolves({});
    await handler(event('Create', true), context());
    // Update: the hook is removed from the props while the template still has ours.
    iot.on(DescribeProvisioningTemplateCommand).resolves(describeWith(HOOK_ARN));
    resourceStatus = 'UPDATE_IN_PROGRESS';
    await handler(event('Update', false, true), context());
    // Update back, then Delete: our hook is removed from the template.
    await handler(event('Update', true, false), context());
    await handler(event('Delete', true), context());

    const sent = answers();
    expect(sent.map((a) => [a.body.Status, a.body.PhysicalResourceId])).toEqual([
      ['SUCCESS', TEMPLATE_NAME],
      ['SUCCESS', TEMPLATE_NAME],
      ['SUCCESS', TEMPLATE_NAME],
      ['SUCCESS', TEMPLATE_NAME],
    ]);
    // The URL was used (so it was in reach of the handler), and the handler logged the whole time.
    expect(sent.every((a) => a.url === RESPONSE_URL)).toBe(true);
    expect(iot.commandCalls(UpdateProvisioningTemplateCommand).length).toBeGreaterThanOrEqual(3);
    const lines = output.slice(start);
    expect(lines.length).toBeGreaterThanOrEqual(8);
    expect(lines.some((l) => l.includes('"RequestType":"Create"'))).toBe(true);
    expectNoSecretIn(lines);
  });

  test('retries, a failed Create and a failing answer to CloudFormation', async () => {
    const start = output.length;
    // An update that conflicts twice, then succeeds.
    iot.on(DescribeProvisioningTemplateCommand).resolves(describeWith(undefined));
    iot
      .on(UpdateProvisioningTemplateCommand)
      .rejectsOnce(
        new ConflictingResourceUpdateException({
          message: 'A conflicting update is in progress',
          $metadata: { httpStatusCode: 409 },
        }),
      )
      .rejectsOnce(
        new ConflictingResourceUpdateException({
          message: 'A conflicting update is in progress',
          $metadata: { httpStatusCode: 409 },
        }),
      )
      .resolves({});
    // CloudFormation's endpoint fails once (network), then refuses once (HTTP 500), then accepts.
    fetchMock
      .mockRejectedValueOnce(
        Object.assign(new TypeError('fetch failed'), { cause: new Error('getaddrinfo EAI_AGAIN') }),
      )
      .mockResolvedValueOnce(new Response('<Error><Code>InternalError</Code></Error>', { status: 500 }))
      .mockResolvedValue(new Response(null, { status: 200 }));
    await handler(event('Create', true), context());

    // A Create of a template that does not exist: FAILED, with a reason.
    resetIot();
    iot
      .on(DescribeProvisioningTemplateCommand)
      .rejects(new ResourceNotFoundException({ message: 'Template not found', $metadata: { httpStatusCode: 404 } }));
    await handler(event('Create', true), context());

    // A Create that CloudFormation cancelled while it set the hook: the template is set back, the hook removed again.
    resetIot();
    iot.on(DescribeProvisioningTemplateCommand).resolves(describeWith(undefined));
    iot.on(UpdateProvisioningTemplateCommand).resolves({});
    resourceStatus = 'CREATE_FAILED';
    await handler(event('Create', true), context());
    expect(iot.commandCalls(UpdateProvisioningTemplateCommand).at(-1)?.args[0].input).toMatchObject({
      templateName: TEMPLATE_NAME,
      removePreProvisioningHook: true,
    });

    const sent = answers();
    expect(sent.map((a) => a.body.Status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'FAILED', 'FAILED']);
    expect(sent.every((a) => a.url === RESPONSE_URL)).toBe(true);
    const lines = output.slice(start);
    expect(lines.some((l) => l.includes('retrying'))).toBe(true);
    expect(lines.some((l) => l.includes('failed'))).toBe(true);
    expect(lines.some((l) => l.includes('undoing the write'))).toBe(true);
    expectNoSecretIn(lines);
    // And the answers themselves carry no credential either.
    expectNoSecretIn(sent.map((a) => JSON.stringify(a.body)));
  });

  test('the check would catch a leak', () => {
    // Guard against a check that cannot fail.
    expect(() => expectNoSecretIn([`PUT ${RESPONSE_URL}`])).toThrow(/response URL/);
    expect(() => expectNoSecretIn([`signature=${SIGNATURE}`])).toThrow(/signature/);
    expect(() => expectNoSecretIn([JSON.stringify({ env: ENV_CREDENTIALS.AWS_SECRET_ACCESS_KEY })])).toThrow(
      /AWS_SECRET_ACCESS_KEY/,
    );
    expect(() => expectNoSecretIn([`token ${ENV_CREDENTIALS.AWS_SESSION_TOKEN}`])).toThrow(/AWS_SESSION_TOKEN/);
    expect(() => expectNoSecretIn(['{"message":"event","RequestType":"Create"}'])).not.toThrow();
  });
});
