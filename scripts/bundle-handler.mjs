// Bundles lambda/index.ts into assets/handler/index.js when the package is
// built, so that users of the construct need neither esbuild nor Docker.
// @aws-sdk/* stays external: the Lambda Node.js runtime ships SDK v3.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

const result = await build({
  entryPoints: [path.join(root, 'lambda', 'entry.ts')],
  outfile: path.join(root, 'assets', 'handler', 'index.js'),
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minify: true,
  sourcemap: false,
  external: ['@aws-sdk/*'],
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);

// The asset's hash, computed once here rather than by every synth: the
// construct stages the asset with it as a custom hash (lib/handler-code.ts),
// as aws-cdk-lib does for its own prebuilt handlers. test/construct.test.ts
// checks it is current.
const bundle = readFileSync(path.join(root, 'assets', 'handler', 'index.js'));
const hash = createHash('sha256').update(bundle).digest('hex');
writeFileSync(path.join(root, 'assets', 'handler.sha256'), `${hash}\n`);
console.log(`bundled handler: assets/handler/index.js (${bytes} bytes, sha256 ${hash.slice(0, 12)}…)`);
