/**
 * What a template looks like on AWS, as the checks compare it: its settings
 * and its tags, read with DescribeProvisioningTemplate and ListTagsForResource.
 */
import {
  DescribeProvisioningTemplateCommand,
  IoTClient,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-iot';

/** The construct's ownership tags (lambda/record.ts). */
export const OWNER_TAG = 'iot-provisioning-template-settings:owner';
export const HOOK_TAG = 'iot-provisioning-template-settings:hook';
export const RECORD_TAG = 'iot-provisioning-template-settings:before';

export interface TemplateState {
  readonly arn: string;
  readonly description?: string;
  readonly enabled?: boolean;
  readonly defaultVersionId?: number;
  readonly provisioningRoleArn?: string;
  readonly hook?: string;
  readonly tags: Record<string, string>;
}

/** The template's state, or undefined when it does not exist. */
export async function readTemplate(iot: IoTClient, templateName: string): Promise<TemplateState | undefined> {
  let t;
  try {
    t = await iot.send(new DescribeProvisioningTemplateCommand({ templateName }));
  } catch (e) {
    if (e instanceof ResourceNotFoundException || (e as Error).name === 'ResourceNotFoundException') return undefined;
    throw e;
  }
  const arn = t.templateArn ?? '';
  const tags: Record<string, string> = {};
  let nextToken: string | undefined;
  do {
    const page = await iot.send(new ListTagsForResourceCommand({ resourceArn: arn, nextToken }));
    for (const tag of page.tags ?? []) tags[tag.Key ?? ''] = tag.Value ?? '';
    nextToken = page.nextToken;
  } while (nextToken);
  return {
    arn,
    description: t.description,
    enabled: t.enabled,
    defaultVersionId: t.defaultVersionId,
    provisioningRoleArn: t.provisioningRoleArn,
    hook: t.preProvisioningHook?.targetArn,
    tags,
  };
}

/** The construct's tags among `tags`. */
export function ownershipTags(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(tags).filter(([key]) => key.startsWith('iot-provisioning-template-settings:')),
  );
}

/** One line of what a state has, for the output. */
export function describe(state: TemplateState | undefined): string {
  if (!state) return 'template does not exist';
  const owner = state.tags[OWNER_TAG];
  return [
    `enabled=${state.enabled}`,
    `description=${JSON.stringify(state.description)}`,
    `defaultVersion=${state.defaultVersionId}`,
    `role=${state.provisioningRoleArn?.split('/').pop()}`,
    `hook=${state.hook?.split(':').pop() ?? 'none'}`,
    `owner=${owner ?? 'none'}`,
  ].join(', ');
}

/** The differences between two states ("field: before -> after"), empty when they are the same. */
export function differences(before: TemplateState | undefined, after: TemplateState | undefined): string[] {
  if (!before || !after) return before === after ? [] : [`exists: ${!!before} -> ${!!after}`];
  const out: string[] = [];
  for (const key of ['description', 'enabled', 'defaultVersionId', 'provisioningRoleArn', 'hook'] as const) {
    if (before[key] !== after[key]) out.push(`${key}: ${JSON.stringify(before[key])} -> ${JSON.stringify(after[key])}`);
  }
  for (const key of new Set([...Object.keys(before.tags), ...Object.keys(after.tags)])) {
    if (before.tags[key] !== after.tags[key]) {
      out.push(`tag ${key}: ${JSON.stringify(before.tags[key])} -> ${JSON.stringify(after.tags[key])}`);
    }
  }
  return out;
}
