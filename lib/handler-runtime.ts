/**
 * Which Lambda runtime the shared handler runs on: the newest Node.js
 * runtime that the app's own aws-cdk-lib knows, never older than
 * RUNTIME_FLOOR.
 *
 * Why not a pinned runtime: cdk-nag's latest-runtime rules (AwsSolutions-L1,
 * Serverless-LambdaLatestVersion) compare a function's runtime with the
 * newest of its family in the app's `lambda.Runtime.ALL`, so a pinned
 * runtime fails them as soon as the app upgrades to an aws-cdk-lib that
 * adds a newer one. Why not `lambda.determineLatestNodeRuntime(scope)`: it
 * lags behind `Runtime.ALL` (nodejs24.x on aws-cdk-lib 2.278.0, which
 * defines nodejs26.x). The bundle (scripts/bundle-handler.mjs, target
 * node22) runs on any of them.
 *
 * Internal: not exported from the package's entry point.
 */
import * as lambda from 'aws-cdk-lib/aws-lambda';

/** The oldest Node.js major the handler runs on: the bundle's target. */
export const RUNTIME_FLOOR = 22;

const NODE_RUNTIME = /^nodejs(\d+)\.x$/;

/**
 * The newest `nodejsNN.x` of `runtimes` that is not marked deprecated, or
 * `nodejs22.x` if none is newer than that.
 */
export function handlerRuntime(runtimes: readonly lambda.Runtime[] = lambda.Runtime.ALL): lambda.Runtime {
  let newest: { runtime: lambda.Runtime; major: number } | undefined;
  for (const runtime of runtimes) {
    const match = NODE_RUNTIME.exec(runtime.name);
    // `isDeprecated` is not in every aws-cdk-lib release: read it if it is there.
    const deprecated = (runtime as { readonly isDeprecated?: boolean }).isDeprecated === true;
    if (!match || runtime.family !== lambda.RuntimeFamily.NODEJS || deprecated) {
      continue;
    }
    const major = Number(match[1]);
    if (!newest || major > newest.major) {
      newest = { runtime, major };
    }
  }
  return newest && newest.major >= RUNTIME_FLOOR
    ? newest.runtime
    : new lambda.Runtime(`nodejs${RUNTIME_FLOOR}.x`, lambda.RuntimeFamily.NODEJS);
}
