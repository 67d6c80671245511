/**
 * `npm run verify:aws`: proves the construct on the caller's AWS account and
 * deletes everything it created (docs/integration-test.md). Refuses to run
 * without --yes-create-resources, in CI, or without an account and region.
 */
import { CliCdkRunner } from './cdk';
import { makeClients } from './clients';
import { connectMqtt } from './device';
import { LEDGER_DIR } from './ledger';
import { newRunPrefix } from './names';
import { parseOptions, refusedEnvironment } from './options';
import { cleanup, verify } from './run';

async function main(): Promise<number> {
  const refused = refusedEnvironment(process.env);
  if (refused) {
    console.error(`${refused} Nothing was created.`);
    return 2;
  }
  const options = parseOptions(process.argv.slice(2));
  if ('error' in options) {
    console.error(options.error);
    return 2;
  }
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++interrupts > 1) {
      console.error(`${signal} again: stopping now. Run the same command with --cleanup to delete what is left.`);
      process.exit(130);
    }
    console.error(`${signal}: stopping after the current action, then cleaning up (${signal} again to stop at once).`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const print = (line: string): void => console.log(line);
  const clients = makeClients(options.region);
  const wait = {
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    pollMs: 5_000,
    timeoutMs: 30 * 60_000,
  };
  if (options.mode === 'cleanup') return cleanup(options, { clients, print, wait, ledgerDir: LEDGER_DIR });
  return verify(options, {
    clients,
    cdk: new CliCdkRunner(print),
    connect: connectMqtt,
    print,
    signal: controller.signal,
    wait,
    prefix: newRunPrefix(),
    ledgerDir: LEDGER_DIR,
  });
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
