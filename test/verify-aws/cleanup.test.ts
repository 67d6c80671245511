/**
 * The cleanup on its own, with the SDK clients mocked: only names with the
 * prefix are touched, stacks caught mid-deployment are waited for (an update
 * cancelled), a stack whose deletion fails is deleted retaining the failed
 * resources, and `--cleanup` finds an interrupted run's ledger.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as cfn from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { deleteStack, failedAfterSettings } from '../../scripts/verify-aws/stacks';
import { cleanup } from '../../scripts/verify-aws/run';
import { Ledger } from '../../scripts/verify-aws/ledger';
import { FakeAws } from './fake-aws';

const wait = { sleep: async () => undefined, pollMs: 0, timeoutMs: 60_000 };

describe('deleteStack', () => {
  const mock = mockClient(cfn.CloudFormationClient);
  afterEach(() => mock.reset());
  afterAll(() => mock.restore());

  function statuses(...list: (string | undefined)[]) {
    const describe = mock.on(cfn.DescribeStacksCommand);
    for (const status of list) {
      if (status)
        describe.resolvesOnce({
          Stacks: [{ StackName: 's', StackStatus: status as cfn.StackStatus, CreationTime: new Date() }],
        });
      else describe.rejectsOnce(new Error('Stack with id s does not exist'));
    }
  }

  test('cancels an interrupted update, waits for its rollback, then deletes', async () => {
    statuses(
      'UPDATE_IN_PROGRESS',
      'UPDATE_ROLLBACK_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE',
      'DELETE_IN_PROGRESS',
      undefined,
    );
    mock.on(cfn.CancelUpdateStackCommand).resolves({});
    const client = new cfn.CloudFormationClient({});
    expect(await deleteStack(client, 's', wait)).toBe('stack s: deleted');
    expect(mock.commandCalls(cfn.CancelUpdateStackCommand)).toHaveLength(1);
    expect(mock.commandCalls(cfn.DeleteStackCommand).map((c) => c.args[0].input)).toEqual([{ StackName: 's' }]);
  });

  test('retains the resources whose deletion failed, on a second try', async () => {
    statuses('UPDATE_COMPLETE', 'DELETE_FAILED', 'DELETE_COMPLETE');
    mock.on(cfn.DescribeStackResourcesCommand).resolves({
      StackResources: [
        { LogicalResourceId: 'Stuck', ResourceStatus: 'DELETE_FAILED', ResourceType: 'x', Timestamp: new Date() },
        { LogicalResourceId: 'Fine', ResourceStatus: 'DELETE_COMPLETE', ResourceType: 'x', Timestamp: new Date() },
      ],
    });
    const out = await deleteStack(new cfn.CloudFormationClient({}), 's', wait);
    expect(out).toMatch(/retaining Stuck/);
    expect(mock.commandCalls(cfn.DeleteStackCommand).map((c) => c.args[0].input)).toEqual([
      { StackName: 's' },
      { StackName: 's', RetainResources: ['Stuck'] },
    ]);
  });

  test('a stack that is not there is nothing to do', async () => {
    statuses(undefined);
    expect(await deleteStack(new cfn.CloudFormationClient({}), 's', wait)).toBe('stack s: not there');
    expect(mock.commandCalls(cfn.DeleteStackCommand)).toHaveLength(0);
  });

  test('gives up with a message when the stack stays in progress', async () => {
    mock
      .on(cfn.DescribeStacksCommand)
      .resolves({ Stacks: [{ StackName: 's', StackStatus: 'CREATE_IN_PROGRESS', CreationTime: new Date() }] });
    await expect(deleteStack(new cfn.CloudFormationClient({}), 's', { ...wait, timeoutMs: -1 })).rejects.toThrow(
      /still CREATE_IN_PROGRESS/,
    );
  });
});

describe('--cleanup', () => {
  const PREFIX = 'ptsverify-feedf00d';

  /** A world as an interrupted run leaves it: the main stack, the claim policy and certificate, a device's thing and certificate. */
  async function interruptedRun(): Promise<FakeAws> {
    const world = new FakeAws(PREFIX);
    await world.cdk.deploy(
      'Main',
      { prefix: PREFIX, account: '1', region: 'eu-west-1', main: 'create', ext: 'create' },
      new AbortController().signal,
    );
    world.policies.add(world.names.claimPolicy);
    world.certificates.add('claimcert').add('orphan-device-cert');
    world.things.set(`${PREFIX}-ok-1`, { attributes: { verifyRun: PREFIX, approvedBy: 'hook' }, principals: [] });
    world.currentStep = 'cleanup';
    return world;
  }

  test('finds an interrupted run by prefix and by its ledger, deletes all of it and nothing else', async () => {
    const world = await interruptedRun();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-aws-ledgers-'));
    const ledger = new Ledger(PREFIX, 'eu-west-1', path.join(dir, `${PREFIX}.json`));
    ledger.certificate('orphan-device-cert', 'arn:aws:iot:eu-west-1:111122223333:cert/orphan-device-cert');
    const { clients, restore } = world.mockSdk();
    const lines: string[] = [];
    try {
      const code = await cleanup(
        { mode: 'cleanup', prefix: 'ptsverify-' },
        { clients, print: (l) => lines.push(l), wait, ledgerDir: dir },
      );
      expect(code).toBe(0);
    } finally {
      restore();
    }
    expect(world.leftovers()).toEqual([]);
    expect(lines).toContain(`> ledger of ${PREFIX}`);
    expect(lines).toContain('nothing named ptsverify-* remains');
    // Someone else's function and role were listed (fake-aws-handlers.ts), never deleted.
    expect(lines.join('\n')).not.toMatch(/someone-elses/);
    expect(fs.readdirSync(dir)).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('refuses a prefix outside the family before listing anything', async () => {
    const world = await interruptedRun();
    const { clients, restore } = world.mockSdk();
    try {
      await expect(
        cleanup(
          { mode: 'cleanup', prefix: 'prod-' },
          { clients, print: () => undefined, wait, ledgerDir: os.tmpdir() },
        ),
      ).rejects.toThrow(/refusing to look for resources outside ptsverify-/);
    } finally {
      restore();
    }
    expect(world.leftovers().length).toBeGreaterThan(0);
  });
});

describe('failedAfterSettings', () => {
  const event = (EventId: string, ResourceType: string, ResourceStatus: string, ResourceStatusReason?: string) =>
    ({ EventId, ResourceType, ResourceStatus, ResourceStatusReason }) as cfn.StackEvent;
  const SETTINGS = 'Custom::IoTProvisioningTemplateSettings';
  const FAIL = 'Custom::VerifyAwsMadeToFail';

  test('the settings written, then the resource made to fail failed: in this deployment only', () => {
    const earlier = [event('1', SETTINGS, 'UPDATE_COMPLETE')];
    const now = [event('2', FAIL, 'CREATE_FAILED', 'made to fail'), event('3', SETTINGS, 'UPDATE_COMPLETE')];
    expect(failedAfterSettings([...earlier, ...now], new Set(['1']))).toEqual({
      settingsFirst: false,
      reason: 'made to fail',
    });
    expect(failedAfterSettings([...earlier, ...now.reverse()], new Set(['1']))).toEqual({
      settingsFirst: true,
      reason: 'made to fail',
    });
  });

  test("an earlier deployment's settings do not count", () => {
    const events = [event('1', SETTINGS, 'CREATE_COMPLETE'), event('2', FAIL, 'CREATE_FAILED', 'x')];
    expect(failedAfterSettings(events, new Set(['1'])).settingsFirst).toBe(false);
    expect(failedAfterSettings([event('1', SETTINGS, 'CREATE_COMPLETE')], new Set()).reason).toMatch(/did not fail/);
  });
});
