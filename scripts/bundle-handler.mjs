// Bundles lambda/index.ts into assets/handler/index.js when the package is
// built, so that users of the construct need neither esbuild nor Docker.
// @aws-sdk/* stays external: the Lambda Node.js runtime ships SDK v3.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

const result = await build({
  entryPoints: [path.join(root, 'lambda', 'index.ts')],
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
console.log(`bundled handler: assets/handler/index.js (${bytes} bytes)`);
