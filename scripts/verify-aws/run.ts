/**
 * A run of `npm run verify:aws`: resolve and show the target, print the plan,
 * run the steps (stopping at the first that throws or at an interrupt),
 * and clean up whatever happened. Also the `--cleanup` mode.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import * as path from 'node:path';
import type { CdkRunner } from './cdk';
import { findByPrefix, sweep, teardown } from './cleanup';
import type { Clients } from './clients';
import { Check, RunContext } from './context';
import type { MqttConnect } from './device';
import { LEDGER_DIR, Ledger, earlierLedgers } from './ledger';
import { runNames } from './names';
import type { Options } from './options';
import { STEPS, planText } from './plan';
import { printHandlerLog } from './steps-limits';
import type { Waiting } from './stacks';

export interface RunDeps {
  readonly clients: Clients;
  readonly cdk: CdkRunner;
  readonly connect: MqttConnect;
  readonly print: (line: string) => void;
  /** Aborted by SIGINT/SIGTERM: the steps stop, the cleanup runs. */
  readonly signal: AbortSignal;
  readonly wait: Waiting;
  /** The new run's prefix. */
  readonly prefix: string;
  /** Where the ledger is written; none: in memory. */
  readonly ledgerDir?: string;
}

export interface Target {
  readonly account: string;
  readonly partition: string;
  readonly region: string;
  readonly identity: string;
}

/** The account and region the run would use, or a message saying why there is none. */
export async function resolveTarget(clients: Clients): Promise<Target | { error: string }> {
  let region: string | undefined;
  try {
    region = await clients.sts.config.region();
  } catch {
    region = undefined;
  }
  if (!region) return { error: 'No AWS region: pass --region (or set AWS_REGION). Nothing was created.' };
  try {
    const me = await clients.sts.send(new GetCallerIdentityCommand({}));
    if (!me.Account || !me.Arn) throw new Error('GetCallerIdentity returned no account');
    return { account: me.Account, partition: me.Arn.split(':')[1], region, identity: me.Arn };
  } catch (e) {
    return {
      error: `Could not resolve your AWS account with STS GetCallerIdentity in ${region}: ${(e as Error).message}\nConfigure credentials (AWS_PROFILE, environment variables or aws sso login). Nothing was created.`,
    };
  }
}

/** Whether the CDK bootstrap stack exists (the CDK CLI needs it for the handler's asset). */
async function bootstrapped(clients: Clients): Promise<boolean> {
  try {
    const out = await clients.cfn.send(new DescribeStacksCommand({ StackName: 'CDKToolkit' }));
    return (out.Stacks ?? []).some((s) => s.StackStatus !== 'DELETE_COMPLETE');
  } catch {
    return false;
  }
}

function printCheck(print: (line: string) => void, c: Check): void {
  print(`${c.status.padEnd(4)} ${c.id.padEnd(26)} ${c.detail}`);
}

/** The whole run; returns the exit code (0 every check passed, 1 a failure, 2 refused, 130 interrupted). */
export async function verify(_options: Options, deps: RunDeps): Promise<number> {
  const { print } = deps;
  const target = await resolveTarget(deps.clients);
  if ('error' in target) {
    print(target.error);
    return 2;
  }
  if (!(await bootstrapped(deps.clients))) {
    print(`The CDK is not bootstrapped in ${target.account}/${target.region} (no CDKToolkit stack).`);
    print(`Run: npx cdk bootstrap aws://${target.account}/${target.region}   Nothing was created.`);
    return 2;
  }
  const names = runNames(deps.prefix);
  for (const line of planText(names, target.account, target.region, target.identity)) print(line);
  const ledgerFile = deps.ledgerDir ? path.join(deps.ledgerDir, `${names.prefix}.json`) : undefined;
  const ledger = new Ledger(names.prefix, target.region, ledgerFile);
  const ctx: RunContext = {
    ...target,
    clients: deps.clients,
    cdk: deps.cdk,
    connect: deps.connect,
    names,
    ledger,
    signal: deps.signal,
    wait: deps.wait,
    print: (line) => print(`    ${line}`),
  };
  const checks: Check[] = [];
  let stopped: string | undefined;
  for (const step of STEPS) {
    if (deps.signal.aborted) {
      stopped = `interrupted before ${step.name}`;
      break;
    }
    print(`> ${step.name}: ${step.title}`);
    try {
      for (const c of await step.run(ctx)) {
        checks.push(c);
        printCheck(print, c);
      }
    } catch (e) {
      const c: Check = { id: step.name, status: 'FAIL', detail: `step failed: ${(e as Error).message}` };
      checks.push(c);
      printCheck(print, c);
      stopped = deps.signal.aborted ? `interrupted in ${step.name}` : `stopped at ${step.name}`;
      break;
    }
  }
  if (stopped) print(`${stopped}; the remaining steps did not run.`);
  if (checks.some((c) => c.status === 'FAIL')) {
    print('> handler logs, for the report (the cleanup deletes them)');
    await printHandlerLog(ctx).catch((e: unknown) => print(`    could not read them: ${(e as Error).message}`));
  }
  print(`> cleanup: everything named ${names.prefix}*`);
  const left = await teardown(deps.clients, ledger.data, deps.wait, (line) => print(`    ${line}`)).catch(
    (e: unknown) => [`cleanup: ${(e as Error).message}`],
  );
  const clean: Check = {
    id: 'cleanup.nothing-left',
    status: left.length === 0 ? 'PASS' : 'FAIL',
    detail:
      left.length === 0 ? `nothing named ${names.prefix}* remains` : `left behind: ${left.join('; ')} (run --cleanup)`,
  };
  checks.push(clean);
  printCheck(print, clean);
  if (left.length === 0) ledger.done();
  const count = (s: string): number => checks.filter((c) => c.status === s).length;
  print(
    `verify:aws ${names.prefix}: ${count('PASS')} checks passed, ${count('FAIL')} failed, ${count('INFO')} reported`,
  );
  if (deps.signal.aborted) return 130;
  return count('FAIL') > 0 ? 1 : 0;
}

/** `--cleanup`: the ledgers of earlier runs, then everything carrying the prefix. */
export async function cleanup(
  options: Options,
  deps: Pick<RunDeps, 'clients' | 'print' | 'wait' | 'ledgerDir'>,
): Promise<number> {
  const { print } = deps;
  const target = await resolveTarget(deps.clients);
  if ('error' in target) {
    print(target.error.replace('Nothing was created.', 'Nothing was deleted.'));
    return 2;
  }
  print(`Looking for ${options.prefix}* in ${target.account}/${target.region}, as ${target.identity}.`);
  const problems: string[] = [];
  for (const data of earlierLedgers(options.prefix, deps.ledgerDir ?? LEDGER_DIR).filter(
    (l) => l.region === target.region,
  )) {
    print(`> ledger of ${data.prefix}`);
    problems.push(...(await teardown(deps.clients, data, deps.wait, (line) => print(`    ${line}`))));
    if (deps.ledgerDir) new Ledger(data.prefix, data.region, path.join(deps.ledgerDir, `${data.prefix}.json`)).done();
  }
  print(`> everything named ${options.prefix}*`);
  await sweep(deps.clients, options.prefix, deps.wait, (line) => print(`    ${line}`));
  const left = Object.entries(await findByPrefix(deps.clients, options.prefix)).flatMap(([k, v]) =>
    v.map((n) => `${k}: ${n}`),
  );
  print(left.length ? `left behind: ${left.join('; ')}` : `nothing named ${options.prefix}* remains`);
  return left.length || problems.length ? 1 : 0;
}
