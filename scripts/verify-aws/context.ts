/**
 * What every step of a run shares: the clients, the CDK runner, the names,
 * the account, and the checks' output format.
 */
import type { Clients } from './clients';
import type { CdkRunner } from './cdk';
import type { MqttConnect } from './device';
import type { Ledger } from './ledger';
import type { RunNames } from './names';
import type { Waiting } from './stacks';

export interface RunContext {
  readonly clients: Clients;
  readonly cdk: CdkRunner;
  readonly connect: MqttConnect;
  readonly names: RunNames;
  readonly account: string;
  readonly partition: string;
  readonly region: string;
  readonly ledger: Ledger;
  readonly signal: AbortSignal;
  readonly wait: Waiting;
  /** Progress lines (indented under the step). */
  readonly print: (line: string) => void;
}

export type Status = 'PASS' | 'FAIL' | 'INFO';

/** One line of the output: a check and what was seen. */
export interface Check {
  readonly id: string;
  readonly status: Status;
  readonly detail: string;
}

export function check(id: string, ok: boolean, detail: string): Check {
  return { id, status: ok ? 'PASS' : 'FAIL', detail };
}

export function info(id: string, detail: string): Check {
  return { id, status: 'INFO', detail };
}

/** One step of the plan: it changes something on AWS, then checks it. */
export interface Step {
  readonly name: string;
  /** What it does, for the plan printed before the run. */
  readonly title: string;
  run(ctx: RunContext): Promise<Check[]>;
}

/** ARNs of the run's resources, as AWS reports them. */
export function arns(ctx: RunContext) {
  const { partition, region, account, names } = ctx;
  return {
    template: (name: string) => `arn:${partition}:iot:${region}:${account}:provisioningtemplate/${name}`,
    role: (name: string) => `arn:${partition}:iam::${account}:role/${name}`,
    fn: (name: string) => `arn:${partition}:lambda:${region}:${account}:function:${name}`,
    certificate: (id: string) => `arn:${partition}:iot:${region}:${account}:cert/${id}`,
    hook: `arn:${partition}:lambda:${region}:${account}:function:${names.hookFunction}`,
    extHook: `arn:${partition}:lambda:${region}:${account}:function:${names.extHookFunction}`,
  };
}

/** Deploys a stack of the app and throws when the deployment fails. */
export async function deployOrThrow(
  ctx: RunContext,
  stackId: 'Main' | 'Ext',
  phase: { main?: string; ext?: string; versionId?: number },
): Promise<void> {
  const result = await deployPhase(ctx, stackId, phase);
  if (!result.ok) throw new Error(`cdk deploy ${stackId} (${phase.main ?? phase.ext}) failed:\n${result.tail}`);
}

export function deployPhase(
  ctx: RunContext,
  stackId: 'Main' | 'Ext',
  phase: { main?: string; ext?: string; versionId?: number },
): ReturnType<CdkRunner['deploy']> {
  return ctx.cdk.deploy(
    stackId,
    {
      prefix: ctx.names.prefix,
      account: ctx.account,
      region: ctx.region,
      main: (phase.main ?? 'update') as never,
      ext: (phase.ext ?? 'create') as never,
      versionId: phase.versionId,
    },
    ctx.signal,
  );
}
