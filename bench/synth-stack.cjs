'use strict';
/**
 * One synthesis, in its own process: `node bench/synth-stack.cjs <ours|baseline> <N> <outdir>`.
 *
 * Plain CommonJS on purpose: run by `node` itself, with nothing compiled on the
 * fly, so the wall time bench/run.ts measures around this process is what the
 * app itself spends (Node start, loading aws-cdk-lib and the construct,
 * building the tree, writing the assembly). `cdk synth` runs an app the same
 * way, after the CLI's own start-up, and hands it context through
 * CDK_CONTEXT_JSON, which `new App()` reads; bench/run.ts sets it for its
 * "`cdk synth` context" runs.
 * The construct is loaded from the compiled package (lib/index.js, written by
 * `npm run build`).
 *
 * The stack itself is bench/bench-stack.cjs (test/scale.test.ts builds the
 * same one).
 *
 * Prints one JSON line: { loadMs, buildMs, synthMs } measured inside the process.
 */
const [variant, nArg, outdir] = process.argv.slice(2);
const n = Number(nArg);
if (!['ours', 'baseline'].includes(variant) || !Number.isSafeInteger(n) || n < 1 || !outdir) {
  console.error('usage: node bench/synth-stack.cjs <ours|baseline> <N> <outdir>');
  process.exit(2);
}

const t0 = performance.now();
const { App } = require('aws-cdk-lib');
const { buildBenchStack } = require('./bench-stack.cjs');
const t1 = performance.now();

const app = new App({ outdir });
buildBenchStack(app, variant, n);
const t2 = performance.now();

app.synth();
const t3 = performance.now();

console.log(JSON.stringify({ loadMs: t1 - t0, buildMs: t2 - t1, synthMs: t3 - t2 }));
