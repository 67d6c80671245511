/**
 * Synthesizes the integration test app (test/integ.provisioning-template-settings.ts)
 * the way integ-runner does, without AWS and without the network:
 *
 * - `npm run integ:snapshot` runs this file to rewrite the committed snapshot;
 * - test/integ-snapshot.test.ts synthesizes again and compares.
 *
 * The context is integ-runner's (see integRunnerContext).
 *
 * The snapshot holds everything the synthesis writes except the asset bodies
 * (`asset.*`): the handler is built from lambda/, and the integ-tests-alpha
 * provider comes from node_modules. Their hashes stay in the templates. Stack
 * traces are removed from *.metadata.json.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { buildIntegTest, integRunnerContext } from './integ.provisioning-template-settings';

/** Where integ-runner keeps the snapshot of test/integ.provisioning-template-settings.ts. */
export const SNAPSHOT_DIR = path.join(__dirname, 'integ.provisioning-template-settings.ts.snapshot');

/**
 * integ-tests-alpha salts each of its API calls with `Date.now()` so that they
 * run on every deployment. Offline, a fixed clock keeps the snapshot the same
 * from one synthesis to the next; a real run (integ-runner) salts as usual.
 */
const SNAPSHOT_CLOCK = Date.UTC(2026, 0, 1);

/** Synthesizes the integration test app into a new temporary directory and returns it. */
export function synthIntegApp(): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'integ-provisioning-template-settings-'));
  const app = new App({ outdir, context: integRunnerContext() });
  const now = Date.now;
  Date.now = () => SNAPSHOT_CLOCK;
  try {
    buildIntegTest(app);
  } finally {
    Date.now = now;
  }
  app.synth();
  return outdir;
}

/** Asset bodies are not part of the committed snapshot. */
export function isAssetBody(fileName: string): boolean {
  return fileName.startsWith('asset.');
}

/**
 * Stack metadata without the stack traces some entries carry (such as
 * acknowledged validation findings), as integ-runner cleans its manifests.
 */
export function withoutTraces(metadata: Record<string, Array<Record<string, unknown>>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(metadata).map(([constructPath, entries]) => [
      constructPath,
      entries.map(({ trace: _trace, ...entry }) => entry),
    ]),
  );
}

/** Replaces the committed snapshot with a fresh synthesis. */
export function updateSnapshot(): string[] {
  const outdir = synthIntegApp();
  try {
    fs.rmSync(SNAPSHOT_DIR, { recursive: true, force: true });
    fs.mkdirSync(SNAPSHOT_DIR);
    const written = fs
      .readdirSync(outdir)
      .filter((f) => !isAssetBody(f))
      .sort();
    for (const file of written) {
      if (file.endsWith('.metadata.json')) {
        const metadata = JSON.parse(fs.readFileSync(path.join(outdir, file), 'utf8'));
        fs.writeFileSync(path.join(SNAPSHOT_DIR, file), JSON.stringify(withoutTraces(metadata), undefined, 2) + '\n');
      } else {
        fs.cpSync(path.join(outdir, file), path.join(SNAPSHOT_DIR, file), { recursive: true });
      }
    }
    return written;
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const written = updateSnapshot();
  console.log(`wrote ${path.relative(process.cwd(), SNAPSHOT_DIR)}/: ${written.join(', ')}`);
}
