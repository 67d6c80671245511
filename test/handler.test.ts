/**
 * The handler's logic, with the IoT and CloudFormation clients mocked
 * (strict input matching) and CloudFormation's response URL stubbed. The tests over HTTP in
 * wire.test.ts drive the bundled artifact through the real SDK.
 */
import {
  CloudFormationClient,
  DescribeStackResourceCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import {
  ConflictingResourceUpdateException,
  DescribeProvisioningTemplateCommand,
  InternalFailureException,
  InvalidRequestException,
  IoTClient,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  UntagResourceCommand,
  UnauthorizedException,
  UpdateProvisioningTemplateCommand,
} from '@aws-sdk/client-iot';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { CREATE_FAILED_MARKER } from '../lib/handler-contract';
import { handler } from '../lambda';
import {
  createEvent,
  deleteEvent,
  fullProps,
  HOOK_ARN,
  lambdaContext,
  minimalProps,
  OTHER_HOOK_ARN,
  Props,
  ROLE_ARN,
  STACK_ID,
  updateEvent,
} from './support/events';

const iot = mockClient(IoTClient);
const cfn = mockClient(CloudFormationClient);
/**
 * What CloudFormation says of the resource when the handler asks after a
 * write: a status, or an error (one per call, the last repeated). Default:
 * the event being handled is still in progress.
 */
let stackSays: string | Error | Array<string | Error> | undefined;
/** The stack's status, for DescribeStacks. */
let stackStatus = 'UPDATE_IN_PROGRESS';
const TEMPLATE_ARN = 'arn:aws:iot:eu-west-1:111122223333:provisioningtemplate/sensor-fleet';
const fetchMock = jest.fn();
const originalFetch = global.fetch;
const logs: string[] = [];

beforeAll(() => {
  process.env.SETTINGS_RETRY_BASE_DELAY_MS = '1';
  process.env.SETTINGS_RETRY_MAX_DELAY_MS = '5';
  process.env.SETTINGS_ROLE_PROPAGATION_MS = '50';
  process.env.SETTINGS_RESPONSE_RESERVE_MS = '1000';
  process.env.SETTINGS_CHECK_RESERVE_MS = '100';
  global.fetch = fetchMock as unknown as typeof fetch;
});

afterAll(() => {
  for (const name of [
    'SETTINGS_RETRY_BASE_DELAY_MS',
    'SETTINGS_RETRY_MAX_DELAY_MS',
    'SETTINGS_ROLE_PROPAGATION_MS',
    'SETTINGS_RESPONSE_RESERVE_MS',
    'SETTINGS_CHECK_RESERVE_MS',
  ]) {
    delete process.env[name];
  }
  global.fetch = originalFetch;
});

beforeEach(() => {
  iot.reset();
  cfn.reset();
  // The owner tag and record (lambda/record.ts): a template nobody has tagged yet, unless a test says otherwise.
  iot.on(ListTagsForResourceCommand).resolves({ tags: [] });
  iot.on(TagResourceCommand).resolves({});
  iot.on(UntagResourceCommand).resolves({});
  stackSays = undefined;
  stackStatus = 'UPDATE_IN_PROGRESS';
  fetchMock.mockReset();
  fetchMock.mockResolvedValue({ ok: true, status: 200 });
  logs.length = 0;
  jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    logs.push(args.join(' '));
  });
});

afterEach(() => jest.restoreAllMocks());

/** The UpdateProvisioningTemplate input that fullProps() asks for, hook aside. */
const SETTINGS_INPUT = {
  templateName: 'sensor-fleet',
  description: 'Sensors',
  enabled: true,
  defaultVersionId: 2,
  provisioningRoleArn: ROLE_ARN,
};
const HOOK_INPUT = { targetArn: HOOK_ARN, payloadVersion: '2020-04-01' };

function template(overrides: Record<string, unknown> = {}) {
  return {
    templateName: 'sensor-fleet',
    templateArn: TEMPLATE_ARN,
    type: 'FLEET_PROVISIONING',
    enabled: false,
    $metadata: {},
    ...overrides,
  };
}

function describeReturns(overrides: Record<string, unknown> = {}) {
  iot.on(DescribeProvisioningTemplateCommand).resolves(template(overrides) as never);
}

function notFound() {
  return new ResourceNotFoundException({
    message: 'The template sensor-fleet does not exist',
    $metadata: { httpStatusCode: 404 },
  });
}

/** CloudFormation's answers to DescribeStackResource for `event`, from `stackSays`: one per call, the last repeated. */
function mockStack(event: CloudFormationCustomResourceEvent) {
  const answers = [stackSays ?? `${event.RequestType.toUpperCase()}_IN_PROGRESS`].flat();
  let call = 0;
  cfn
    .on(DescribeStackResourceCommand, { StackName: event.StackId, LogicalResourceId: event.LogicalResourceId })
    .callsFake(() => {
      const answer = answers[Math.min(call++, answers.length - 1)];
      if (answer instanceof Error) throw answer;
      return { StackResourceDetail: { ResourceStatus: answer } };
    });
  cfn
    .on(DescribeStacksCommand, { StackName: event.StackId })
    .callsFake(() => ({ Stacks: [{ StackStatus: stackStatus }] }));
}

function cfnError(name: string, message: string, httpStatusCode: number) {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}

/** Run the handler and return what it sent to CloudFormation. */
async function run(event: CloudFormationCustomResourceEvent) {
  mockStack(event);
  await handler(event, lambdaContext());
  expect(fetchMock).toHaveBeenCalledTimes(1);
  const [url, init] = fetchMock.mock.calls[0];
  expect(url).toBe(event.ResponseURL);
  expect(init.method).toBe('PUT');
  return JSON.parse(init.body);
}

describe('Create', () => {
  test('describes, then one update with exactly the fields given', async () => {
    describeReturns();
    const response = await run(createEvent(fullProps()));
    expect(iot).toHaveReceivedCommandTimes(DescribeProvisioningTemplateCommand, 1);
    expect(iot).toHaveReceivedCommandWith(DescribeProvisioningTemplateCommand, { templateName: 'sensor-fleet' });
    expect(iot).toHaveReceivedCommandTimes(UpdateProvisioningTemplateCommand, 1);
    expect(iot.commandCalls(UpdateProvisioningTemplateCommand)[0].args[0].input).toEqual({
      ...SETTINGS_INPUT,
      preProvisioningHook: HOOK_INPUT,
    });
    expect(response).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: 'sensor-fleet',
      StackId: expect.any(String),
      RequestId: expect.any(String),
      LogicalResourceId: 'Settings',
      Data: { TemplateArn: TEMPLATE_ARN },
    });
    // A hook the template did not have: CloudFormation is asked whether it still wants it.
    expect(cfn).toHaveReceivedCommandTimes(DescribeStackResourceCommand, 1);
    expect(cfn).toHaveReceivedCommandWith(DescribeStackResourceCommand, {
      StackName: STACK_ID,
      LogicalResourceId: 'Settings',
    });
  });

  test('a missing template fails with its name, changing nothing', async () => {
    iot.on(DescribeProvisioningTemplateCommand).rejects(notFound());
    const response = await run(createEvent(fullProps()));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/Provisioning template "sensor-fleet" does not exist/);
    expect(response.PhysicalResourceId).toBe(CREATE_FAILED_MARKER);
    expect(iot).toHaveReceivedCommandTimes(UpdateProvisioningTemplateCommand, 0);
  });

  test('a hook on a JITP template fails before anything is changed', async () => {
    describeReturns({ type: 'JITP' });
    const response = await run(createEvent(fullProps()));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(
      /"sensor-fleet" is of type JITP: only FLEET_PROVISIONING takes a pre-provisioning hook\. Nothing was changed\.$/,
    );
    expect(response.PhysicalResourceId).toBe(CREATE_FAILED_MARKER);
    expect(iot).toHaveReceivedCommandTimes(UpdateProvisioningTemplateCommand, 0);
  });

  test('a JITP template without a hook is updated', async () => {
    describeReturns({ type: 'JITP' });
    const response = await run(createEvent(fullProps({ PreProvisioningHook: undefined })));
    expect(response.Status).toBe('SUCCESS');
    expect(iot.commandCalls(UpdateProvisioningTemplateCommand)[0].args[0].input.preProvisioningHook).toBeUndefined();
  });

  test('nothing to set: no write at all', async () => {
    describeReturns();
    const response = await run(createEvent(minimalProps()));
    expect(response.Status).toBe('SUCCESS');
    expect(response.Data).toEqual({ TemplateArn: TEMPLATE_ARN });
    expect(iot).toHaveReceivedCommandTimes(UpdateProvisioningTemplateCommand, 0);
  });

  test('an IoT error reaches CloudFormation with its name, message and the template', async () => {
    describeReturns();
    iot.on(UpdateProvisioningTemplateCommand).rejects(
      new InvalidRequestException({
        message: 'The default version 9 does not exist',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const response = await run(createEvent(fullProps({ DefaultVersionId: '9' })));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toBe(
      'UpdateProvisioningTemplate on provisioning template "sensor-fleet" failed: InvalidRequestException: The default version 9 does not exist',
    );
    // Refused by IoT: nothing changed, so the rollback's Delete must not touch the template.
    expect(response.PhysicalResourceId).toBe(CREATE_FAILED_MARKER);
  });

  test('a write whose outcome is unknown keeps the template name, so the Delete can clean up', async () => {
    describeReturns();
    iot
      .on(UpdateProvisioningTemplateCommand)
      .rejects(new InternalFailureException({ message: 'boom', $metadata: { httpStatusCode: 500 } }));
    const event = createEvent(fullProps());
    const response = await handler(event, lambdaContext(1_050)).then(() => JSON.parse(fetchMock.mock.calls[0][1].body));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(
      /UpdateProvisioningTemplate on provisioning template "sensor-fleet" failed.*InternalFailureException: boom/,
    );
    expect(response.PhysicalResourceId).toBe('sensor-fleet');
  });

  test.each([
    [{ Enabled: 'yes' }, /Enabled must be "true" or "false"; got "yes"/],
    [{ DefaultVersionId: '0' }, /DefaultVersionId must be a positive whole number; got "0"/],
    [{ DefaultVersionId: 'two' }, /DefaultVersionId must be a positive whole number; got "two"/],
  ])('a property that resolved to a bad value at deploy time fails clearly (%j)', async (overrides, reason) => {
    describeReturns();
    const response = await run(createEvent(fullProps(overrides as Partial<Props>)));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(reason);
    expect(response.PhysicalResourceId).toBe(CREATE_FAILED_MARKER);
    expect(iot).toHaveReceivedCommandTimes(UpdateProvisioningTemplateCommand, 0);
  });

  test('the template name in the event, not only the response, is what gets updated', async () => {
    describeReturns({
      templateName: 'other',
      templateArn: 'arn:aws:iot:eu-west-1:111122223333:provisioningtemplate/other',
    });
    const response = await run(createEvent(minimalProps({ TemplateName: 'other', Enabled: 'false' })));
    expect(iot).toHaveReceivedCommandWith(UpdateProvisioningTemplateCommand, { templateName: 'other', enabled: false });
    expect(response.PhysicalResourceId).toBe('other');
  });
});

describe('Update', () => {
  const old = minimalProps();

  test.each([
    ['description', { Description: 'New' }, { description: 'New' }],
    ['enabled', { Enabled: 'false' }, { enabled: false }],
    ['defaultVersionId', { DefaultVersionId: '3' }, { defaultVersionId: 3 }],
    ['provisioning role', { ProvisioningRoleArn: ROLE_ARN }, { provisioningRoleArn: ROLE_ARN }],
    [
      'hook',
      { PreProvisioningHook: { TargetArn: HOOK_ARN, PayloadVersion: '2020-04-01' } },
      { preProvisioningHook: { targetArn: HOOK_ARN, payloadVersion: '2020-04-01' } },
    ],
  ])('sets %s, and only what is given (and enabled, as the template has it)', async (_field, change, expected) => {
    describeReturns();
    const response = await run(updateEvent('sensor-fleet', minimalProps(change as Partial<Props>), old));
    expect(response).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'sensor-fleet',
      Data: { TemplateArn: TEMPLATE_ARN },
    });
    expect(iot.commandCalls(UpdateProvisioningTemplateCommand).map((c) => c.args[0].input)).toEqual([
      { templateName: 'sensor-fleet', enabled: false, ...expected },
    ]);
  });

  test("a changed template revision alone re-applies every setting (the template's own update may have reset them)", async () => {
    describeReturns({ enabled: false, preProvisioningHook: undefined });
    const response = await run(
      updateEvent('sensor-fleet', fullProps({ TemplateRevision: 'b' }), fullProps({ TemplateRevision: 'a' })),
    );
    expect(response.Status).toBe('SUCCESS');
    expect(iot.commandCalls(UpdateProvisioningTemplateCommand).map((c) => c.args[0].input)).toEqual([
      { ...SETTINGS_INPUT, preProvisioningHook: HOOK_INPUT },
    ]);
  });

  test('a hook gone from the props is removed when it is still ours, in the same single write', async () => {
    describeReturns({ preProvisioningHook: { targetArn: HOOK_ARN, payloadVersion: '2020-04-01' } });
    const response = await run(updateEvent('sensor-fleet', fullProps({ PreProvisioningHook: undefined }), fullProps()));
    expect(response.Status).toBe('SUCCESS');
    expect(iot.commandCalls(UpdateProvisioningTemplateCommand).map((c) => c.args[0].input)).toEqual([
      { ...SETTINGS_INPUT, removePreProvisioningHook: true },
    ]);
  });

  test('a hook gone from the props is left alone when someone else replaced it', async () => {
    describeReturns({ preProvisioningHook: { targetArn: OTHER_HOOK_ARN, payloadVersion: '2020-04-01' } });
    const response = await run(updateEvent('sensor-fleet', minimalProps(), fullProps()));
    expect(response.Status).toBe('SUCCESS');
    expect(iot).toHaveReceivedCommandTimes(UpdateProvisioningTemplateCommand, 0);
    expect(logs.join('\n')).toMatch(/another hook now; left alone/);
  });

  test('a renamed template gets a new physical id and the full desired state; the old one is left for the Delete', async () => {
    describeReturns({
      templateName: 'gateway-fleet',
      templateArn: 'arn:aws:iot:eu-west-1:111122223333:provisioningtemplate/gateway-fleet',
    });
    const response = await run(
      updateEvent(
        'sensor-fleet',
        fullProps({ TemplateName: 'gateway-fleet', PreProvisioningHook: undefined }),
        fullProps(),
      ),
    );
    expect(response.PhysicalResourceId).toBe('gateway-fleet');
    expect(iot).toHaveReceivedCommandTimes(DescribeProvisioningTemplateCommand, 1);
    expect(iot).toHaveReceivedCommandWith(DescribeProvisioningTemplateCommand, { templateName: 'gateway-fleet' });
    expect(iot.commandCalls(UpdateProvisioningTemplateCommand).map((c) => c.args[0].input)).toEqual([
      { ...SETTINGS_INPUT, templateName: 'gateway-fleet' },
    ]);
  });

  test('a failed Update keeps the physical id', async () => {
    iot.on(DescribeProvisioningTemplateCommand).rejects(notFound());
    const response = await run(updateEvent('sensor-fleet', fullProps({ TemplateName: 'gone' }), fullProps()));
    expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'sensor-fleet' });
    expect(response.Reason).toMatch(/"gone" does not exist/);
  });

  test('ConflictingResourceUpdateException is retried until the write goes through', async () => {
    describeReturns();
    iot
      .on(UpdateProvisioningTemplateCommand)
      .rejectsOnce(new ConflictingResourceUpdateException({ message: 'busy', $metadata: { httpStatusCode: 409 } }))
      .rejectsOnce(new ConflictingResourceUpdateException({ message: 'busy', $metadata: { httpStatusCode: 409 } }))
      .resolves({});
    const response = await run(updateEvent('sensor-fleet', fullProps(), old));
    expect(response.Status).toBe('SUCCESS');
    expect(iot).toHaveReceivedCommandTimes(UpdateProvisioningTemplateCommand, 3);
  });

  test('a role IoT cannot assume yet is retried for a bounded time, then fails naming the role problem', async () => {
    describeReturns();
    iot.on(UpdateProvisioningTemplateCommand).rejects(
      new InvalidRequestException({
        message: `The provisioning role ${ROLE_ARN} cannot be assumed by AWS IoT`,
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const response = await run(updateEvent('sensor-fleet', fullProps(), old));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(
      /failed after \d+ attempts .*AWS IoT cannot assume the provisioning role.*arn:aws:iam::111122223333:role\/provisioning/,
    );
    expect(iot.commandCalls(UpdateProvisioningTemplateCommand).length).toBeGreaterThan(1);
  });

  test("an access denial is retried while IAM applies the handler's new policy", async () => {
    describeReturns();
    iot
      .on(UpdateProvisioningTemplateCommand)
      .rejectsOnce(new UnauthorizedException({ message: 'not authorized yet', $metadata: { httpStatusCode: 401 } }))
      .resolves({});
    const response = await run(updateEvent('sensor-fleet', fullProps(), old));
    expect(response.Status).toBe('SUCCESS');
    expect(iot).toHaveReceivedCommandTimes(UpdateProvisioningTemplateCommand, 2);
  });

  test('an access denial that lasts fails after the propagation window, with the IoT error', async () => {
    describeReturns();
    iot
      .on(UpdateProvisioningTemplateCommand)
      .rejects(new UnauthorizedException({ message: 'User is not authorized', $metadata: { httpStatusCode: 401 } }));
    const response = await run(updateEvent('sensor-fleet', fullProps(), old));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(
      /"sensor-fleet" failed after \d+ attempts.*UnauthorizedException: User is not authorized/,
    );
  });

  test('other InvalidRequestExceptions are not retried', async () => {
    describeReturns();
    iot
      .on(UpdateProvisioningTemplateCommand)
      .rejects(new InvalidRequestException({ message: 'bad version', $metadata: { httpStatusCode: 400 } }));
    const response = await run(updateEvent('sensor-fleet', fullProps(), old));
    expect(response.Status).toBe('FAILED');
    expect(iot).toHaveReceivedCommandTimes(UpdateProvisioningTemplateCommand, 1);
  });
});

describe('a rollback that started while the template was being written', () => {
  const removeAgain = { templateName: 'sensor-fleet', removePreProvisioningHook: true, enabled: false };
  /** A Create undone: every setting it wrote back as template() had it (no description: an empty one), our hook off. */
  const restoreAll = { ...removeAgain, description: '' };
  const restored = /\. The template was set back as it was before, its previous owner included\.$/;
  const writes = () => iot.commandCalls(UpdateProvisioningTemplateCommand).map((c) => c.args[0].input);

  test('still creating: success, after one read, one write and one question to CloudFormation', async () => {
    describeReturns();
    const response = await run(createEvent(fullProps()));
    expect(response.Status).toBe('SUCCESS');
    expect(iot).toHaveReceivedCommandTimes(UpdateProvisioningTemplateCommand, 1);
    expect(cfn).toHaveReceivedCommandTimes(DescribeStackResourceCommand, 1);
    expect(cfn).toHaveReceivedCommandTimes(DescribeStacksCommand, 0);
  });

  test('a Create of a hook the template already has still asks (it may be a retry after a crash between write and question)', async () => {
    describeReturns({ preProvisioningHook: HOOK_INPUT });
    const response = await run(createEvent(fullProps()));
    expect(response.Status).toBe('SUCCESS');
    expect(cfn).toHaveReceivedCommandTimes(DescribeStackResourceCommand, 1);
  });

  test('a Create without a hook asks too: its rollback puts every setting back', async () => {
    describeReturns();
    const response = await run(createEvent(fullProps({ PreProvisioningHook: undefined })));
    expect(response.Status).toBe('SUCCESS');
    expect(cfn).toHaveReceivedCommandTimes(DescribeStackResourceCommand, 1);
  });

  test('an event that writes nothing does not ask', async () => {
    describeReturns();
    expect((await run(updateEvent('sensor-fleet', minimalProps(), minimalProps()))).Status).toBe('SUCCESS');
    expect(cfn).toHaveReceivedCommandTimes(DescribeStackResourceCommand, 0);
  });

  test('a cancelled Create sets the template back as it was and fails, keeping the template name for the Delete', async () => {
    describeReturns();
    stackSays = 'CREATE_FAILED';
    const response = await run(createEvent(fullProps()));
    // The role is not written back: the template had none to put back.
    expect(writes()).toEqual([{ ...SETTINGS_INPUT, preProvisioningHook: HOOK_INPUT }, restoreAll]);
    expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'sensor-fleet' });
    expect(response.Reason).toBe(
      'Provisioning template "sensor-fleet": the stack stopped creating this resource while it was being written ' +
        '(the resource is now CREATE_FAILED). The template was set back as it was before, its previous owner included.',
    );
  });

  test("someone else's hook that the Create replaced is put back", async () => {
    const theirs = { targetArn: OTHER_HOOK_ARN, payloadVersion: '2020-04-01' };
    describeReturns({ preProvisioningHook: theirs });
    stackSays = 'DELETE_COMPLETE';
    const response = await run(createEvent(fullProps()));
    expect(writes()[1]).toEqual({ ...restoreAll, removePreProvisioningHook: undefined, preProvisioningHook: theirs });
    expect(response.Reason).toMatch(restored);
  });

  test('a resource the stack no longer has counts as cancelled', async () => {
    describeReturns();
    stackSays = cfnError('ValidationError', `Resource Settings does not exist for stack ${STACK_ID}`, 400);
    const response = await run(createEvent(fullProps()));
    expect(writes()[1]).toEqual(restoreAll);
    expect(response.Reason).toMatch(/the stack no longer has it/);
  });

  test('CREATE_COMPLETE: another delivery of the same event answered first; nothing is undone', async () => {
    describeReturns();
    stackSays = 'CREATE_COMPLETE';
    const response = await run(createEvent(fullProps()));
    expect(response.Status).toBe('SUCCESS');
    expect(writes()).toHaveLength(1);
  });

  test("a stale Update writes the old properties' settings back, as the rollback does, even when it read its own earlier write", async () => {
    const roleA = 'arn:aws:iam::111122223333:role/role-a';
    const a = fullProps({
      Description: 'A',
      Enabled: 'false',
      DefaultVersionId: '1',
      ProvisioningRoleArn: roleA,
      PreProvisioningHook: undefined,
    });
    // The template already shows B: this is a redelivery, or a retry after a crash, of the forward Update.
    describeReturns({
      description: 'Sensors',
      enabled: true,
      defaultVersionId: 2,
      provisioningRoleArn: ROLE_ARN,
      preProvisioningHook: HOOK_INPUT,
    });
    stackSays = 'UPDATE_FAILED';
    const response = await run(updateEvent('sensor-fleet', fullProps(), a));
    expect(writes()[1]).toEqual({
      templateName: 'sensor-fleet',
      description: 'A',
      enabled: false,
      defaultVersionId: 1,
      provisioningRoleArn: roleA,
      removePreProvisioningHook: true,
    });
    expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'sensor-fleet' });
    expect(response.Reason).toMatch(
      /stopped updating this resource while it was being written \(the resource is now UPDATE_FAILED\)\. The old settings were written back\.$/,
    );
  });

  test('a stale Update that removed the hook puts the old one back', async () => {
    describeReturns({ preProvisioningHook: HOOK_INPUT });
    stackSays = 'UPDATE_FAILED';
    await run(
      updateEvent('sensor-fleet', fullProps({ PreProvisioningHook: undefined, Description: 'new' }), fullProps()),
    );
    expect(writes()[0]).toMatchObject({ description: 'new', removePreProvisioningHook: true });
    expect(writes()[1]).toEqual({ ...SETTINGS_INPUT, preProvisioningHook: HOOK_INPUT });
  });

  test('an Update whose stack is being deleted takes the hook it set off, as the Delete does, and never puts the old one back', async () => {
    const a = fullProps({ PreProvisioningHook: { TargetArn: OTHER_HOOK_ARN, PayloadVersion: '2020-04-01' } });
    describeReturns({ preProvisioningHook: { targetArn: OTHER_HOOK_ARN, payloadVersion: '2020-04-01' } });
    stackSays = 'UPDATE_COMPLETE';
    stackStatus = 'DELETE_IN_PROGRESS';
    const response = await run(updateEvent('sensor-fleet', fullProps(), a));
    expect(writes()[1]).toEqual(removeAgain);
    expect(response.Reason).toMatch(
      /now UPDATE_COMPLETE, the stack DELETE_IN_PROGRESS\)\. The hook it set was removed again\.$/,
    );

    iot.resetHistory();
    fetchMock.mockClear();
    stackSays = 'DELETE_IN_PROGRESS';
    const removed = await run(updateEvent('sensor-fleet', fullProps({ PreProvisioningHook: undefined }), a));
    expect(writes()).toHaveLength(1); // it set no hook: nothing to take off
    expect(removed.Reason).toMatch(/Nothing it wrote needed undoing\.$/);
  });

  test('a late Create that finds the resource already updated by a later deploy keeps its write', async () => {
    describeReturns();
    stackSays = 'UPDATE_COMPLETE';
    expect((await run(createEvent(fullProps()))).Status).toBe('SUCCESS');
    expect(writes()).toHaveLength(1);
  });

  test('a stale rename sets the new template back to what it had (the rollback only writes the old one), its role last', async () => {
    const theirs = { targetArn: OTHER_HOOK_ARN, payloadVersion: '2020-04-01' };
    describeReturns({
      description: 'theirs',
      enabled: false,
      defaultVersionId: 1,
      provisioningRoleArn: 'arn:aws:iam::111122223333:role/theirs',
      preProvisioningHook: theirs,
    });
    stackSays = 'UPDATE_FAILED';
    await run(updateEvent('sensor-fleet', fullProps(), fullProps({ TemplateName: 'gateway-fleet' })));
    // A rename takes the new template over, as a Create does: its record puts the role back too,
    // in a write of its own after the rest (the handler may pass only its stack's roles).
    expect(writes().slice(1)).toEqual([
      {
        templateName: 'sensor-fleet',
        description: 'theirs',
        enabled: false,
        defaultVersionId: 1,
        preProvisioningHook: theirs,
      },
      { templateName: 'sensor-fleet', provisioningRoleArn: 'arn:aws:iam::111122223333:role/theirs', enabled: false },
    ]);
  });

  test('a Create that gets a status it does not expect is undone, as when CloudFormation does not answer', async () => {
    describeReturns();
    stackSays = 'ROLLBACK_IN_PROGRESS';
    const response = await run(createEvent(fullProps()));
    expect(writes()[1]).toEqual(restoreAll);
    expect(response.Reason).toMatch(
      /could not confirm that the stack is still creating this resource: the resource is now ROLLBACK_IN_PROGRESS\. The template was set back/,
    );
  });

  test('a retained resource (RemovalPolicy.RETAIN) is never undone for a Create or a deletion, but is for an Update rollback', async () => {
    const retained = (p: Props) => ({ ...p, Retained: 'true' });
    describeReturns();
    stackSays = 'CREATE_FAILED';
    expect((await run(createEvent(retained(fullProps())))).Status).toBe('SUCCESS');
    expect(writes()).toHaveLength(1);
    expect(logs.join('\n')).toMatch(/kept the write: the resource is retained/);

    iot.resetHistory();
    fetchMock.mockClear();
    stackSays = 'DELETE_IN_PROGRESS';
    expect((await run(updateEvent('sensor-fleet', retained(fullProps()), minimalProps()))).Status).toBe('SUCCESS');
    expect(writes()).toHaveLength(1);

    iot.resetHistory();
    fetchMock.mockClear();
    stackSays = 'UPDATE_FAILED';
    expect((await run(updateEvent('sensor-fleet', retained(fullProps()), minimalProps()))).Status).toBe('FAILED');
    expect(writes()).toHaveLength(2);
  });

  test('a stale Create whose template already had our hook (a redelivery, a retry after a crash) removes it, never sets it back', async () => {
    describeReturns({ preProvisioningHook: HOOK_INPUT });
    stackSays = 'DELETE_COMPLETE';
    const response = await run(createEvent(fullProps()));
    expect(writes()[1]).toEqual(restoreAll);
    expect(response.Reason).toMatch(restored);
  });

  test('UPDATE_COMPLETE: undone when the stack is rolling back (the rollback wrote first), not when it goes forward (another delivery answered first)', async () => {
    describeReturns();
    stackSays = 'UPDATE_COMPLETE';
    stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
    const stale = await run(updateEvent('sensor-fleet', fullProps(), minimalProps()));
    expect(stale.Status).toBe('FAILED');
    expect(stale.Reason).toMatch(/now UPDATE_COMPLETE, the stack UPDATE_ROLLBACK_IN_PROGRESS/);
    expect(writes()).toHaveLength(2);

    iot.resetHistory();
    fetchMock.mockClear();
    stackStatus = 'UPDATE_IN_PROGRESS';
    const duplicate = await run(updateEvent('sensor-fleet', fullProps(), minimalProps()));
    expect(duplicate.Status).toBe('SUCCESS');
    expect(writes()).toHaveLength(1);
  });

  test('an Update still in progress (its own, or the rollback writing the old settings) succeeds', async () => {
    describeReturns();
    const response = await run(updateEvent('sensor-fleet', fullProps(), minimalProps()));
    expect(response.Status).toBe('SUCCESS');
    expect(cfn).toHaveReceivedCommandTimes(DescribeStackResourceCommand, 1);
    expect(writes()).toHaveLength(1);
  });

  test("CloudFormation's throttling is retried", async () => {
    describeReturns();
    stackSays = [cfnError('Throttling', 'Rate exceeded', 400), 'CREATE_IN_PROGRESS'];
    const response = await run(createEvent(fullProps()));
    expect(response.Status).toBe('SUCCESS');
    expect(cfn).toHaveReceivedCommandTimes(DescribeStackResourceCommand, 2);
  });

  test('an access denial is retried while IAM applies the policy; one that lasts undoes a Create and fails, naming the call', async () => {
    describeReturns();
    const denied = cfnError(
      'AccessDenied',
      'User is not authorized to perform: cloudformation:DescribeStackResource.',
      403,
    );
    stackSays = [denied, 'CREATE_IN_PROGRESS'];
    expect((await run(createEvent(fullProps()))).Status).toBe('SUCCESS');

    iot.resetHistory();
    cfn.reset();
    fetchMock.mockClear();
    stackSays = denied;
    const response = await run(createEvent(fullProps()));
    expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'sensor-fleet' });
    expect(response.Reason).toMatch(
      /^Provisioning template "sensor-fleet": could not confirm that the stack is still creating this resource: DescribeStackResource on provisioning template "sensor-fleet" failed after \d+ attempts .*AccessDenied: User is not authorized to perform: cloudformation:DescribeStackResource\. The template was set back as it was before, its previous owner included\.$/,
    );
    expect(writes()[1]).toEqual(restoreAll);
  });

  test('an Update that gets no clear answer keeps its write and succeeds, logging why (it may be the rollback itself)', async () => {
    describeReturns();
    stackSays = cfnError(
      'AccessDenied',
      'User is not authorized to perform: cloudformation:DescribeStackResource',
      403,
    );
    const denied = await run(updateEvent('sensor-fleet', fullProps(), minimalProps()));
    expect(denied.Status).toBe('SUCCESS');
    expect(writes()).toHaveLength(1);
    expect(logs.join('\n')).toMatch(
      /"kept the write".*could not confirm that the stack is still updating this resource.*AccessDenied/,
    );

    iot.resetHistory();
    fetchMock.mockClear();
    logs.length = 0;
    stackSays = 'UPDATE_ROLLBACK_IN_PROGRESS'; // not a status this expects of a resource
    const odd = await run(updateEvent('sensor-fleet', fullProps(), minimalProps()));
    expect(odd.Status).toBe('SUCCESS');
    expect(writes()).toHaveLength(1);
    expect(logs.join('\n')).toMatch(/"kept the write".*: the resource is now UPDATE_ROLLBACK_IN_PROGRESS/);
  });

  test('an undo that fails too says the template may keep what was written', async () => {
    describeReturns();
    stackSays = 'CREATE_FAILED';
    iot
      .on(UpdateProvisioningTemplateCommand)
      .resolvesOnce({})
      .rejects(new InvalidRequestException({ message: 'nope', $metadata: { httpStatusCode: 400 } }));
    const response = await run(createEvent(fullProps()));
    expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'sensor-fleet' });
    expect(response.Reason).toMatch(
      /Undoing the write failed too; the template may keep it: UpdateProvisioningTemplate on provisioning template "sensor-fleet" failed: InvalidRequestException: nope$/,
    );
  });
});

describe('Delete', () => {
  test('removes our hook from the template', async () => {
    describeReturns({ preProvisioningHook: { targetArn: HOOK_ARN, payloadVersion: '2020-04-01' } });
    const response = await run(deleteEvent('sensor-fleet', fullProps()));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'sensor-fleet' });
    // enabled as the template has it, never left to what an absent enabled means.
    expect(iot.commandCalls(UpdateProvisioningTemplateCommand).map((c) => c.args[0].input)).toEqual([
      { templateName: 'sensor-fleet', removePreProvisioningHook: true, enabled: false },
    ]);
  });

  test("leaves someone else's hook alone, and says so", async () => {
    describeReturns({ preProvisioningHook: { targetArn: OTHER_HOOK_ARN, payloadVersion: '2020-04-01' } });
    const response = await run(deleteEvent('sensor-fleet', fullProps()));
    expect(response.Status).toBe('SUCCESS');
    expect(iot).toHaveReceivedCommandTimes(UpdateProvisioningTemplateCommand, 0);
    expect(logs.join('\n')).toMatch(/hook that this resource did not set; left alone.*someone-elses-hook/);
  });

  test('a template that no longer exists is success', async () => {
    iot.on(DescribeProvisioningTemplateCommand).rejects(notFound());
    const response = await run(deleteEvent('sensor-fleet', fullProps()));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'sensor-fleet' });
    expect(iot).toHaveReceivedCommandTimes(UpdateProvisioningTemplateCommand, 0);
  });

  test('after a failed Create: success without calling IoT', async () => {
    const response = await run(deleteEvent(CREATE_FAILED_MARKER, fullProps()));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: CREATE_FAILED_MARKER });
    expect(iot.calls()).toHaveLength(0);
  });

  test('no hook managed and no owner tag: nothing to remove, no read of the template, no write', async () => {
    const response = await run(deleteEvent('sensor-fleet', minimalProps({ Enabled: 'true' })));
    expect(response.Status).toBe('SUCCESS');
    // Only the owner tag is read: untagged, and no hook of its own, there is nothing to take off.
    expect(iot.calls().map((c) => c.args[0].constructor.name)).toEqual(['ListTagsForResourceCommand']);
  });

  test('finds the template by the properties, not by the physical id, and answers with the id it was given', async () => {
    // CloudFormation makes up the id when it cancels a Create still running (another resource failed).
    const madeUp = 'FleetStack-SettingsResource4F1A2B3C-1Q2W3E4R5T6Y7';
    describeReturns({ preProvisioningHook: { targetArn: HOOK_ARN, payloadVersion: '2020-04-01' } });
    const response = await run(deleteEvent(madeUp, fullProps()));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: madeUp });
    expect(iot).toHaveReceivedCommandWith(DescribeProvisioningTemplateCommand, { templateName: 'sensor-fleet' });
    expect(iot).toHaveReceivedCommandWith(UpdateProvisioningTemplateCommand, {
      templateName: 'sensor-fleet',
      removePreProvisioningHook: true,
    });
    expect(iot.calls()).toHaveLength(3); // the owner tag, the template, the write
  });

  test('an IoT error fails the Delete with the template name, keeping the physical id', async () => {
    describeReturns({ preProvisioningHook: { targetArn: HOOK_ARN, payloadVersion: '2020-04-01' } });
    iot
      .on(UpdateProvisioningTemplateCommand)
      .rejects(new InvalidRequestException({ message: 'nope', $metadata: { httpStatusCode: 400 } }));
    const response = await run(deleteEvent('sensor-fleet', fullProps()));
    expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'sensor-fleet' });
    expect(response.Reason).toBe(
      'UpdateProvisioningTemplate on provisioning template "sensor-fleet" failed: InvalidRequestException: nope',
    );
  });
});

describe('answering CloudFormation', () => {
  test('a failed response PUT is retried', async () => {
    describeReturns();
    fetchMock.mockReset();
    fetchMock
      .mockResolvedValueOnce({ ok: false, status: 500 })
      .mockRejectedValueOnce(new Error('ECONNRESET'))
      .mockResolvedValue({ ok: true, status: 200 });
    await handler(createEvent(minimalProps()), lambdaContext());
    expect(fetchMock).toHaveBeenCalledTimes(3);
    expect(JSON.parse(fetchMock.mock.calls[2][1].body).Status).toBe('SUCCESS');
  });

  test('gives up on the response after the configured attempts, without throwing', async () => {
    process.env.SETTINGS_RESPONSE_ATTEMPTS = '2';
    describeReturns();
    fetchMock.mockReset();
    fetchMock.mockResolvedValue({ ok: false, status: 403 });
    await expect(handler(createEvent(minimalProps()), lambdaContext())).resolves.toBeUndefined();
    delete process.env.SETTINGS_RESPONSE_ATTEMPTS;
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(logs.join('\n')).toMatch(/could not answer CloudFormation/);
  });

  test('an unexpected error still answers FAILED with the template name', async () => {
    iot.on(DescribeProvisioningTemplateCommand).callsFake(() => {
      throw new TypeError('unexpected');
    });
    const response = await run(createEvent(fullProps()));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/sensor-fleet/);
    expect(response.Reason).toMatch(/TypeError: unexpected/);
  });
});
