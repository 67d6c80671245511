/**
 * Deploys a phase of the app (app.ts) with this repository's CDK CLI
 * (`aws-cdk`, which reads the cloud assembly schema aws-cdk-lib writes).
 * The run depends only on the CdkRunner interface, so tests inject a fake.
 * Stacks are deleted with the SDK (cleanup.ts), not with `cdk destroy`.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONTEXT, VerifyAppProps } from './app';

export interface DeployResult {
  /** Whether `cdk deploy` succeeded. */
  readonly ok: boolean;
  /** The last lines it printed, for a failure's message. */
  readonly tail: string;
}

export interface CdkRunner {
  /** Deploys the CloudFormation stack `stackName` ('Main' or 'Ext' in the app) of the app with `props`. */
  deploy(stackId: 'Main' | 'Ext', props: VerifyAppProps, signal: AbortSignal): Promise<DeployResult>;
}

const ROOT = path.join(__dirname, '..', '..');

/** The `cdk deploy` arguments for one stack of one phase. */
export function deployArgs(stackId: string, props: VerifyAppProps, outdir: string): string[] {
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
  const context: Record<string, string | undefined> = {
    [CONTEXT.prefix]: props.prefix,
    [CONTEXT.account]: props.account,
    [CONTEXT.region]: props.region,
    [CONTEXT.main]: props.main,
    [CONTEXT.ext]: props.ext,
    [CONTEXT.version]: props.versionId === undefined ? undefined : String(props.versionId),
  };
  return [
    'deploy',
    stackId,
    '--app',
    `"${tsx}" "${path.join(ROOT, 'scripts', 'verify-aws', 'app.ts')}"`,
    ...Object.entries(context).flatMap(([key, value]) => (value === undefined ? [] : ['--context', `${key}=${value}`])),
    '--output',
    outdir,
    '--exclusively',
    '--require-approval',
    'never',
    '--no-notices',
    '--no-version-reporting',
    '--progress',
    'events',
  ];
}

/** The real runner: spawns `cdk deploy`, prints its output indented, kills it on abort. */
export class CliCdkRunner implements CdkRunner {
  constructor(private readonly print: (line: string) => void) {}

  public async deploy(stackId: 'Main' | 'Ext', props: VerifyAppProps, signal: AbortSignal): Promise<DeployResult> {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-aws-cdk-out-'));
    const cdk = path.join(ROOT, 'node_modules', '.bin', 'cdk');
    const env = { ...process.env, AWS_REGION: props.region, AWS_DEFAULT_REGION: props.region };
    const child = spawn(cdk, deployArgs(stackId, props, outdir), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const collect = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        this.print(`    | ${line}`);
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const onAbort = (): void => stop(child);
    signal.addEventListener('abort', onAbort);
    try {
      const code = await new Promise<number | null>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', resolve);
      });
      return { ok: code === 0, tail: lines.slice(-15).join('\n') };
    } finally {
      signal.removeEventListener('abort', onAbort);
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }
}

/** Ends the CDK CLI this runner started (by its pid), so the cleanup can begin. */
function stop(child: ChildProcess): void {
  if (child.exitCode === null) child.kill('SIGTERM');
}
