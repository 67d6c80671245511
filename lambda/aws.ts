/**
 * Every AWS call the handler makes, each one HTTP attempt retried by
 * lambda/retry.ts. The clients take the SDK's standard configuration
 * (region, credentials, AWS_ENDPOINT_URL_IOT, AWS_ENDPOINT_URL_CLOUDFORMATION),
 * so tests point them at local endpoints or replace them with
 * aws-sdk-client-mock.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { DescribeProvisioningTemplateCommandOutput, IoTClient } from '@aws-sdk/client-iot';
import type { TemplateWrite } from '../lib/handler-contract';
import { Ctx, HandlerConfig, log } from './context';
import { errorMessage, errorName, withRetries } from './retry';

export type Template = DescribeProvisioningTemplateCommandOutput;

type IotSdk = typeof import('@aws-sdk/client-iot');
type CfnSdk = typeof import('@aws-sdk/client-cloudformation');
let iotSdk: IotSdk | undefined;
let cfnSdk: CfnSdk | undefined;

/**
 * The SDKs (shipped by the Lambda runtime) load with the first event that
 * needs them rather than with this module: a cold start pays for them either
 * way, but the module itself loads in a few milliseconds, and an event that
 * never asks CloudFormation never loads its SDK.
 */
function iot(): IotSdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (iotSdk ??= require('@aws-sdk/client-iot') as IotSdk);
}

function cfn(): CfnSdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (cfnSdk ??= require('@aws-sdk/client-cloudformation') as CfnSdk);
}

const clients = new Map<string, unknown>();

/**
 * One client per service and request timeout, kept for the sandbox's next
 * events. One attempt per call: lambda/retry.ts is the only retry layer.
 */
function client<T>(service: string, config: HandlerConfig, make: (settings: object) => T): T {
  const key = `${service}/${config.requestTimeoutMs}`;
  if (!clients.has(key)) {
    clients.set(
      key,
      make({
        maxAttempts: 1,
        // throwOnRequestTimeout: recent SDKs only log a warning when requestTimeout passes and keep waiting.
        requestHandler: {
          requestTimeout: config.requestTimeoutMs,
          connectionTimeout: Math.min(config.requestTimeoutMs, 5_000),
          throwOnRequestTimeout: true,
        },
      }),
    );
  }
  return clients.get(key) as T;
}

function iotClient(ctx: Ctx): IoTClient {
  return client('iot', ctx.config, (settings) => new (iot().IoTClient)(settings));
}

function cfnClient(ctx: Ctx): CloudFormationClient {
  return client('cloudformation', ctx.config, (settings) => new (cfn().CloudFormationClient)(settings));
}

/** The template, or undefined when it does not exist. */
export function describeTemplate(ctx: Ctx, templateName: string): Promise<Template | undefined> {
  return withRetries(ctx, { templateName, name: 'DescribeProvisioningTemplate' }, async (abortSignal) => {
    try {
      return await iotClient(ctx).send(new (iot().DescribeProvisioningTemplateCommand)({ templateName }), {
        abortSignal,
      });
    } catch (e) {
      if (errorName(e) === 'ResourceNotFoundException') return undefined;
      throw e;
    }
  });
}

/** `roleArn`: the provisioning role the template will have, named if AWS IoT cannot assume it. */
export async function updateTemplate(ctx: Ctx, input: TemplateWrite, roleArn?: string): Promise<void> {
  log('UpdateProvisioningTemplate', { ...input });
  const op = { templateName: input.templateName, name: 'UpdateProvisioningTemplate', write: true, roleArn };
  await withRetries(ctx, op, (abortSignal) =>
    iotClient(ctx).send(new (iot().UpdateProvisioningTemplateCommand)(input), { abortSignal }),
  );
}

/** Who sent the event: its stack and its logical id there. */
export interface StackResource {
  readonly StackId: string;
  readonly LogicalResourceId: string;
}

/** The resource's status in its stack, or undefined when the stack no longer has it. */
export function resourceStatus(ctx: Ctx, resource: StackResource, templateName: string): Promise<string | undefined> {
  return withRetries(ctx, { templateName, name: 'DescribeStackResource' }, async (abortSignal) => {
    try {
      const command = new (cfn().DescribeStackResourceCommand)({
        StackName: resource.StackId,
        LogicalResourceId: resource.LogicalResourceId,
      });
      const out = await cfnClient(ctx).send(command, { abortSignal });
      return out.StackResourceDetail?.ResourceStatus ?? 'UNKNOWN';
    } catch (e) {
      if (errorName(e) === 'ValidationError' && /does not exist/i.test(errorMessage(e))) return undefined;
      throw e;
    }
  });
}

/** The stack's status. */
export function stackStatus(ctx: Ctx, resource: StackResource, templateName: string): Promise<string> {
  return withRetries(ctx, { templateName, name: 'DescribeStacks' }, async (abortSignal) => {
    const out = await cfnClient(ctx).send(new (cfn().DescribeStacksCommand)({ StackName: resource.StackId }), {
      abortSignal,
    });
    return out.Stacks?.[0]?.StackStatus ?? 'UNKNOWN';
  });
}

/** The template's tags, or undefined when it does not exist. */
export function listTags(
  ctx: Ctx,
  templateArn: string,
  templateName: string,
): Promise<Record<string, string> | undefined> {
  return withRetries(ctx, { templateName, name: 'ListTagsForResource' }, async (abortSignal) => {
    try {
      const tags: Record<string, string> = {};
      let nextToken: string | undefined;
      do {
        const command = new (iot().ListTagsForResourceCommand)({ resourceArn: templateArn, nextToken });
        const out = await iotClient(ctx).send(command, { abortSignal });
        for (const tag of out.tags ?? []) tags[tag.Key!] = tag.Value ?? '';
        nextToken = out.nextToken;
      } while (nextToken);
      return tags;
    } catch (e) {
      if (errorName(e) === 'ResourceNotFoundException') return undefined;
      throw e;
    }
  });
}

/** Set `tags` on the template and remove `remove` (each call only when it has something to do). */
export async function retag(
  ctx: Ctx,
  templateArn: string,
  templateName: string,
  tags: Record<string, string>,
  remove: readonly string[] = [],
): Promise<void> {
  if (Object.keys(tags).length > 0) {
    log('TagResource', { templateName, tags });
    const list = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    await withRetries(ctx, { templateName, name: 'TagResource', write: true }, (abortSignal) =>
      iotClient(ctx).send(new (iot().TagResourceCommand)({ resourceArn: templateArn, tags: list }), { abortSignal }),
    );
  }
  if (remove.length > 0) {
    log('UntagResource', { templateName, tagKeys: remove });
    await withRetries(ctx, { templateName, name: 'UntagResource', write: true }, (abortSignal) =>
      iotClient(ctx).send(new (iot().UntagResourceCommand)({ resourceArn: templateArn, tagKeys: [...remove] }), {
        abortSignal,
      }),
    );
  }
}
