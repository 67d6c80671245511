// Bundles lambda/index.ts into assets/handler/index.js when the package is
// built, so that users of the construct need neither esbuild nor Docker.
// @aws-sdk/* stays external: the Lambda Node.js runtime ships SDK v3.
import { build } from 'esbuild';
import { minify } from 'terser';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

// Property names that only the handler's own code reads and writes (plans,
// facts, verdicts, SETTINGS rows, the deadline context) are shortened, as
// identifiers are: about 1 KB of the 20,000-byte budget. A name belongs here
// only if it is never sent to or read from AWS or CloudFormation, never kept
// in a tag (the record's and applied settings' JSON), never a log field and
// never an environment variable's source (lib/timing.ts). The wire tests run
// the bundle, so a wrong entry fails them.
const INTERNAL_PROPERTIES = [
  // lambda/plan.ts: Facts, EventFacts, StackFacts, Need, Plan, Step
  'event',
  'template',
  'stack',
  'kind',
  'stackId',
  'requestId',
  'me',
  'old',
  'physicalId',
  'rootId',
  'rootStatus',
  'need',
  'why',
  'details',
  'steps',
  'revert',
  'revertOnFailure',
  'check',
  'fail',
  'hint',
  // lambda/record.ts: Ownership; lambda/plan-delete.ts: Verdict; lambda/retry.ts: SettingsError, Operation
  'record',
  'pendingRole',
  'wanted',
  'stale',
  'deleting',
  'changedNothing',
  'roleArn',
  // lib/handler-contract.ts: SETTINGS rows, RestoreContext; lambda/context.ts: Ctx
  'field',
  'read',
  'restore',
  'ownWrite',
  'written',
  'previousOwner',
  'deadline',
  'dispose',
];

// A name a built-in also has (JSON.parse, say) would be shortened there too.
const builtins = [
  JSON,
  Object,
  Array,
  String,
  Number,
  Math,
  Date,
  Promise,
  Buffer,
  Error,
  AbortSignal,
  process,
  console,
];
for (const name of INTERNAL_PROPERTIES) {
  if (builtins.some((b) => name in b || (b.prototype && name in b.prototype))) {
    throw new Error(`${name} is a built-in's property too: it cannot be shortened`);
  }
}

const result = await build({
  entryPoints: [path.join(root, 'lambda', 'entry.ts')],
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minify: true,
  sourcemap: false,
  external: ['@aws-sdk/*'],
  mangleProps: new RegExp(`^(${INTERNAL_PROPERTIES.join('|')})$`),
  // Also `'need' in x` and quoted keys, so every use of a listed name changes together.
  mangleQuoted: true,
  legalComments: 'none',
  write: false,
  logLevel: 'warning',
});
// A second pass with terser's compressor (its safe defaults), which folds
// what esbuild's single pass leaves: about 250 bytes more.
const { code } = await minify(result.outputFiles[0].text, {
  ecma: 2022,
  toplevel: true,
  compress: { passes: 2 },
  mangle: { toplevel: true },
  format: { comments: false },
});
const outfile = path.join(root, 'assets', 'handler', 'index.js');
mkdirSync(path.dirname(outfile), { recursive: true });
writeFileSync(outfile, code);
const bytes = Buffer.byteLength(code);

// The asset's hash, computed once here rather than by every synth: the
// construct stages the asset with it as a custom hash (lib/handler-code.ts),
// as aws-cdk-lib does for its own prebuilt handlers. test/construct.test.ts
// checks it is current.
const bundle = readFileSync(path.join(root, 'assets', 'handler', 'index.js'));
const hash = createHash('sha256').update(bundle).digest('hex');
writeFileSync(path.join(root, 'assets', 'handler.sha256'), `${hash}\n`);
console.log(`bundled handler: assets/handler/index.js (${bytes} bytes, sha256 ${hash.slice(0, 12)}…)`);
