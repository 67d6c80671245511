/**
 * Every AWS call the handler makes, each one HTTP attempt retried by
 * lambda/retry.ts. The clients take the SDK's standard configuration
 * (region, credentials, AWS_ENDPOINT_URL_IOT, AWS_ENDPOINT_URL_CLOUDFORMATION),
 * so tests point them at local endpoints or replace them with
 * aws-sdk-client-mock.
 */
import type {
  DescribeStackResourceCommandOutput,
  DescribeStacksCommandOutput,
  ListStackResourcesCommandOutput,
  StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import type { DescribeProvisioningTemplateCommandOutput, ListTagsForResourceCommandOutput } from '@aws-sdk/client-iot';
import type { TemplateWrite } from '../lib/handler-contract';
import { Ctx, log } from './context';
import { errorMessage, errorName, withRetries } from './retry';

export type Template = DescribeProvisioningTemplateCommandOutput;

type Service = 'iot' | 'cloudformation';
type Sdk = { [name: string]: new (input: object) => unknown };
interface Client {
  send(command: unknown, options: { abortSignal: AbortSignal }): Promise<unknown>;
}

const sdks: { [service: string]: Sdk } = {};
const clients = new Map<string, Client>();

/**
 * The service's SDK (shipped by the Lambda runtime), loaded with the first
 * event that needs it rather than with this module: a cold start pays for it
 * either way, but the module itself loads in a few milliseconds, and an event
 * that never asks CloudFormation never loads its SDK.
 */
function sdk(service: Service): Sdk {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return (sdks[service] ??=
    service === 'iot' ? require('@aws-sdk/client-iot') : require('@aws-sdk/client-cloudformation'));
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/**
 * One client per service and request timeout, kept for the sandbox's next
 * events. One attempt per call: lambda/retry.ts is the only retry layer.
 */
function client(ctx: Ctx, service: Service): Client {
  const key = `${service}/${ctx.config.requestTimeoutMs}`;
  if (!clients.has(key)) {
    const Client = sdk(service)[service === 'iot' ? 'IoTClient' : 'CloudFormationClient'];
    clients.set(
      key,
      new Client({
        maxAttempts: 1,
        // throwOnRequestTimeout: recent SDKs only log a warning when requestTimeout passes and keep waiting.
        requestHandler: {
          requestTimeout: ctx.config.requestTimeoutMs,
          connectionTimeout: Math.min(ctx.config.requestTimeoutMs, 5_000),
          throwOnRequestTimeout: true,
        },
      }) as Client,
    );
  }
  return clients.get(key)!;
}

/**
 * `operation` of `service` with `input`, retried; undefined when `absent`
 * says the error means the thing asked about does not exist.
 */
function send<T>(
  ctx: Ctx,
  service: Service,
  operation: string,
  input: object,
  about: { templateName: string; write?: boolean; roleArn?: string },
  absent?: (e: unknown) => boolean,
): Promise<T | undefined> {
  return withRetries(ctx, { ...about, name: operation }, async (abortSignal) => {
    try {
      const Command = sdk(service)[`${operation}Command`];
      return (await client(ctx, service).send(new Command(input), { abortSignal })) as T;
    } catch (e) {
      if (absent?.(e)) return undefined;
      throw e;
    }
  });
}

const notFound = (e: unknown) => errorName(e) === 'ResourceNotFoundException';

/** The template, or undefined when it does not exist. */
export function describeTemplate(ctx: Ctx, templateName: string): Promise<Template | undefined> {
  return send<Template>(ctx, 'iot', 'DescribeProvisioningTemplate', { templateName }, { templateName }, notFound);
}

/** `roleArn`: the provisioning role the template will have, named if AWS IoT cannot assume it. */
export async function updateTemplate(ctx: Ctx, input: TemplateWrite, roleArn?: string): Promise<void> {
  const operation = 'UpdateProvisioningTemplate';
  log(operation, { ...input });
  const { templateName } = input;
  await send(ctx, 'iot', operation, input, { templateName, write: true, roleArn });
}

/** Who sent the event: its stack and its logical id there. */
export interface StackResource {
  readonly StackId: string;
  readonly LogicalResourceId: string;
}

/** The resource's status in its stack, or undefined when the stack no longer has it. */
export async function resourceStatus(
  ctx: Ctx,
  resource: StackResource,
  templateName: string,
): Promise<string | undefined> {
  const input = { StackName: resource.StackId, LogicalResourceId: resource.LogicalResourceId };
  const gone = (e: unknown) => errorName(e) === 'ValidationError' && /does not exist/i.test(errorMessage(e));
  const out = await send<DescribeStackResourceCommandOutput>(
    ctx,
    'cloudformation',
    'DescribeStackResource',
    input,
    { templateName },
    gone,
  );
  return out && (out.StackResourceDetail?.ResourceStatus ?? 'UNKNOWN');
}

/** A stack's status and, when it is nested, its root stack's id (DescribeStacks). */
export async function describeStack(
  ctx: Ctx,
  stackId: string,
  templateName: string,
): Promise<{ status: string; rootId?: string }> {
  const input = { StackName: stackId };
  const out = await send<DescribeStacksCommandOutput>(ctx, 'cloudformation', 'DescribeStacks', input, { templateName });
  const stack = out?.Stacks?.[0];
  const rootId = stack?.RootId && stack.RootId !== stackId ? stack.RootId : undefined;
  return { status: stack?.StackStatus ?? 'UNKNOWN', ...(rootId ? { rootId } : {}) };
}

/** Every resource of the stack. */
export async function listStackResources(ctx: Ctx, stackId: string): Promise<StackResourceSummary[]> {
  const resources: StackResourceSummary[] = [];
  let NextToken: string | undefined;
  do {
    const input = { StackName: stackId, NextToken };
    const out = await send<ListStackResourcesCommandOutput>(ctx, 'cloudformation', 'ListStackResources', input, {
      templateName: '*',
    });
    resources.push(...out!.StackResourceSummaries!);
    NextToken = out!.NextToken;
  } while (NextToken);
  return resources;
}

/** The template's tags, or undefined when it does not exist. */
export async function listTags(
  ctx: Ctx,
  templateArn: string,
  templateName: string,
): Promise<Record<string, string> | undefined> {
  const tags: Record<string, string> = {};
  let nextToken: string | undefined;
  do {
    const input = { resourceArn: templateArn, nextToken };
    const out = await send<ListTagsForResourceCommandOutput>(
      ctx,
      'iot',
      'ListTagsForResource',
      input,
      { templateName },
      notFound,
    );
    if (!out) return undefined;
    for (const tag of out.tags ?? []) tags[tag.Key!] = tag.Value ?? '';
    nextToken = out.nextToken;
  } while (nextToken);
  return tags;
}

/**
 * Set `tags` on the template and remove `remove` (each call only when it has
 * something to do); `onTagged` once the tags are set.
 */
export async function retag(
  ctx: Ctx,
  templateArn: string,
  templateName: string,
  tags: Record<string, string>,
  remove: readonly string[],
  onTagged: () => void,
): Promise<void> {
  const about = { templateName, write: true };
  if (Object.keys(tags).length > 0) {
    log('TagResource', { templateName, tags });
    const list = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    await send(ctx, 'iot', 'TagResource', { resourceArn: templateArn, tags: list }, about);
    onTagged();
  }
  if (remove.length > 0) {
    log('UntagResource', { templateName, tagKeys: remove });
    await send(ctx, 'iot', 'UntagResource', { resourceArn: templateArn, tagKeys: [...remove] }, about);
  }
}
