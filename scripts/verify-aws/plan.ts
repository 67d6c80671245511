/**
 * The plan of a run: its steps in order, and what it creates and costs,
 * printed before anything is created.
 */
import type { Step } from './context';
import type { RunNames } from './names';
import { bodyStep, createStep, renameStep, updateStep } from './steps-settings';
import { provisionStep } from './steps-device';
import { deleteStep, failedCreateStep, failedUpdateStep } from './steps-failures';
import { limitsStep } from './steps-limits';

/** Every step, in the order they run; each relies on the ones before it. */
export const STEPS: readonly Step[] = [
  createStep,
  provisionStep,
  bodyStep,
  renameStep,
  updateStep,
  failedUpdateStep,
  failedCreateStep,
  deleteStep,
  limitsStep,
];

/** What the run will create, and roughly what it costs: printed before it starts. */
export function planText(names: RunNames, account: string, region: string, identity: string): string[] {
  return [
    `Account ${account}, region ${region}, as ${identity}.`,
    `Run prefix ${names.prefix}: everything below is named with it and deleted at the end.`,
    '',
    'It will create:',
    `  - CloudFormation stacks ${names.mainStack} and ${names.extStack} (deployed with this repository's CDK CLI; the CDK bootstrap stack must exist)`,
    `  - AWS IoT provisioning templates ${names.template} and ${names.extTemplate} (FLEET_PROVISIONING)`,
    `  - IAM roles ${names.initialRole}, ${names.managedRole}, and the stacks' function roles (${names.prefix}-*)`,
    `  - Lambda functions ${names.hookFunction}, ${names.extHookFunction}, ${names.failFunction}, the construct's handler (one per stack), and their log groups`,
    `  - a claim certificate with IoT policy ${names.claimPolicy}, two device certificates and one thing (${names.prefix}-ok-1), made through fleet provisioning over MQTT`,
    '',
    'Steps:',
    ...STEPS.map((s, i) => `  ${i + 1}. ${s.name}: ${s.title}`),
    '',
    'Cost: a few cents at most. CloudFormation, IAM and provisioning templates are free; about 40 Lambda',
    'invocations, a few kilobytes of logs, one MQTT connection of about a minute and a handful of',
    'messages, and a few hundred IoT registry calls are within the free tier or well under $0.01.',
    'Duration: about 20 to 30 minutes (seven stack deployments and three deletions).',
    '',
  ];
}
