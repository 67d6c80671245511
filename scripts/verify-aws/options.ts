/**
 * The command line of `npm run verify:aws`. Nothing is created without
 * `--yes-create-resources`; `--cleanup` deletes leftovers and needs it too.
 */
import { FAMILY, isPrefix } from './names';

export const CONFIRM_FLAG = '--yes-create-resources';

export interface Options {
  readonly mode: 'verify' | 'cleanup';
  readonly region?: string;
  /** `--cleanup` only: the prefix to look for (default: every run's). */
  readonly prefix: string;
}

export const USAGE = `Usage:
  npm run verify:aws -- --region <region> ${CONFIRM_FLAG}
      Deploys the construct to the account of your AWS credentials, checks it,
      and deletes everything it created (see docs/integration-test.md).
  npm run verify:aws -- --cleanup [--prefix ptsverify-xxxxxxxx] --region <region> ${CONFIRM_FLAG}
      Deletes what earlier runs left behind (all runs without --prefix).`;

/** The options, or the message to exit with (exit code 2). */
export function parseOptions(argv: readonly string[]): Options | { error: string } {
  let region: string | undefined;
  let prefix = FAMILY;
  let confirmed = false;
  let cleanup = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string | undefined => (arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i]);
    const name = arg.split('=')[0];
    if (name === '--region') region = value();
    else if (name === '--prefix') prefix = value() ?? '';
    else if (arg === CONFIRM_FLAG) confirmed = true;
    else if (arg === '--cleanup') cleanup = true;
    else if (arg === '--help' || arg === '-h') return { error: USAGE };
    else return { error: `Unknown argument ${JSON.stringify(arg)}.\n\n${USAGE}` };
  }
  if (!confirmed) {
    return {
      error:
        `Refusing to run: this command creates (or, with --cleanup, deletes) resources in your AWS account.\n` +
        `Add ${CONFIRM_FLAG} to confirm. Nothing was created.\n\n${USAGE}`,
    };
  }
  if (!isPrefix(prefix)) {
    return { error: `--prefix must be ${FAMILY} or ${FAMILY} and 8 hex digits; got ${JSON.stringify(prefix)}.` };
  }
  if (prefix !== FAMILY && !cleanup) {
    return { error: '--prefix applies to --cleanup only: a run always picks a new prefix.' };
  }
  return { mode: cleanup ? 'cleanup' : 'verify', region, prefix };
}

/** Why the command must not run in this environment, if it must not (CI, or a test runner). */
export function refusedEnvironment(env: NodeJS.ProcessEnv): string | undefined {
  if (env.CI && env.CI !== 'false') {
    return 'Refusing to run in CI (CI is set): verify:aws is run by hand, on an account you chose.';
  }
  if (env.JEST_WORKER_ID) {
    return 'Refusing to run under a test runner (JEST_WORKER_ID is set).';
  }
  return undefined;
}
