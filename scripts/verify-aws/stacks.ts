/**
 * CloudFormation helpers of the run: a stack's status, its events, and a
 * deletion that waits for whatever the stack is doing (an interrupted
 * deployment) and deletes it even when a resource refuses to go.
 */
import {
  CancelUpdateStackCommand,
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  StackEvent,
} from '@aws-sdk/client-cloudformation';

export interface Waiting {
  readonly sleep: (ms: number) => Promise<void>;
  /** How often to poll, and for how long at most. */
  readonly pollMs: number;
  readonly timeoutMs: number;
}

/** The stack's status, or undefined when there is no such stack (or it is deleted). */
export async function stackStatus(cfn: CloudFormationClient, stackName: string): Promise<string | undefined> {
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const status = out.Stacks?.[0]?.StackStatus;
    return status === 'DELETE_COMPLETE' ? undefined : status;
  } catch (e) {
    if (/does not exist/.test((e as Error).message ?? '')) return undefined;
    throw e;
  }
}

/** Polls until the stack is in no *_IN_PROGRESS status; returns that status. */
async function settle(cfn: CloudFormationClient, stackName: string, wait: Waiting): Promise<string | undefined> {
  const until = Date.now() + wait.timeoutMs;
  for (;;) {
    const status = await stackStatus(cfn, stackName);
    if (!status?.endsWith('_IN_PROGRESS')) return status;
    if (Date.now() > until) throw new Error(`stack ${stackName} still ${status} after ${wait.timeoutMs / 1000} s`);
    await wait.sleep(wait.pollMs);
  }
}

/**
 * Deletes the stack and waits until it is gone. An update in progress (a
 * deployment interrupted) is cancelled first; resources that fail to delete
 * are retained on a second try (the prefix sweep deletes them). Returns what
 * it did, for the output.
 */
export async function deleteStack(cfn: CloudFormationClient, stackName: string, wait: Waiting): Promise<string> {
  let status = await stackStatus(cfn, stackName);
  if (status === undefined) return `stack ${stackName}: not there`;
  if (status === 'UPDATE_IN_PROGRESS') {
    try {
      await cfn.send(new CancelUpdateStackCommand({ StackName: stackName }));
    } catch {
      // Finished meanwhile: nothing to cancel.
    }
  }
  if (status.endsWith('_IN_PROGRESS')) status = await settle(cfn, stackName, wait);
  if (status === undefined) return `stack ${stackName}: deleted`;
  await cfn.send(new DeleteStackCommand({ StackName: stackName }));
  status = await settle(cfn, stackName, wait);
  if (status === 'DELETE_FAILED') {
    const resources = await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }));
    const failed = (resources.StackResources ?? [])
      .filter((r) => r.ResourceStatus === 'DELETE_FAILED')
      .map((r) => r.LogicalResourceId ?? '');
    await cfn.send(new DeleteStackCommand({ StackName: stackName, RetainResources: failed }));
    status = await settle(cfn, stackName, wait);
    if (status === undefined) return `stack ${stackName}: deleted, retaining ${failed.join(', ')} (swept by prefix)`;
  }
  if (status !== undefined) throw new Error(`stack ${stackName} could not be deleted: ${status}`);
  return `stack ${stackName}: deleted`;
}

/** The stack's events, oldest first. */
export async function stackEvents(cfn: CloudFormationClient, stackName: string): Promise<StackEvent[]> {
  const events: StackEvent[] = [];
  let NextToken: string | undefined;
  do {
    const page = await cfn.send(new DescribeStackEventsCommand({ StackName: stackName, NextToken }));
    events.push(...(page.StackEvents ?? []));
    NextToken = page.NextToken;
  } while (NextToken && events.length < 1000);
  return events.reverse();
}

/** The ids of the stack's events so far (none when there is no stack yet). */
export async function seenEvents(cfn: CloudFormationClient, stackName: string): Promise<Set<string>> {
  if ((await stackStatus(cfn, stackName)) === undefined) return new Set();
  return new Set((await stackEvents(cfn, stackName)).map((e) => e.EventId ?? ''));
}

/**
 * Whether the events not `seen` before the deployment show the settings
 * written (the custom resource's `*_COMPLETE`) before the resource made to
 * fail failed; the reason of that failure.
 */
export function failedAfterSettings(
  events: StackEvent[],
  seen: Set<string>,
): { settingsFirst: boolean; reason: string } {
  const recent = events.filter((e) => !seen.has(e.EventId ?? ''));
  const written = recent.findIndex(
    (e) =>
      e.ResourceType === 'Custom::IoTProvisioningTemplateSettings' &&
      (e.ResourceStatus === 'CREATE_COMPLETE' || e.ResourceStatus === 'UPDATE_COMPLETE'),
  );
  const failed = recent.findIndex(
    (e) => e.ResourceType === 'Custom::VerifyAwsMadeToFail' && e.ResourceStatus === 'CREATE_FAILED',
  );
  return {
    settingsFirst: written >= 0 && failed > written,
    reason: failed >= 0 ? (recent[failed].ResourceStatusReason ?? '') : 'the resource made to fail did not fail',
  };
}
