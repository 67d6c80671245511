/**
 * The handler's bundle as Lambda code: a zip asset staged into the cloud
 * assembly and registered with the stack's synthesizer directly, the way
 * aws-cdk-lib's own CustomResourceProvider ships its handlers.
 *
 * Not `lambda.Code.fromAsset`: that goes through aws-s3-assets' `Asset`,
 * which also builds an `s3.IBucket` for the asset bucket, and that looks up
 * the region's S3 website endpoint, loading every region fact aws-cdk-lib
 * knows (60 to 75 ms on a 2-core machine, see bench/). The handler needs
 * neither the bucket object nor the fact. The saving is real only when
 * nothing else in the app loads the facts: CDK's own version reporting
 * (on by default under `cdk synth`) does, as does any `Code.fromAsset`.
 *
 * Internal: not exported from the package's entry point.
 */
import * as fs from 'fs';
import * as path from 'path';
import { AssetHashType, AssetStaging, CfnResource, FileAssetPackaging, Names, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';

/** Where the build puts the bundled handler (see scripts/bundle-handler.mjs). */
export const HANDLER_ASSET_DIR = path.join(__dirname, '..', 'assets', 'handler');

/** The bundle's sha256, written by the build next to the asset directory. */
export const HANDLER_HASH_FILE = path.join(__dirname, '..', 'assets', 'handler.sha256');

export class HandlerCode extends lambda.Code {
  /**
   * The bundled handler, with the hash computed when the package was built
   * (so synth need not fingerprint it); a clear error when it was not built.
   */
  public static bundled(): HandlerCode {
    let hash: string;
    try {
      hash = fs.readFileSync(HANDLER_HASH_FILE, 'utf8').trim();
    } catch {
      throw new Error(
        `The bundled handler is missing from ${path.dirname(HANDLER_HASH_FILE)}. Run "npm run build" in the package first.`,
      );
    }
    return new HandlerCode(HANDLER_ASSET_DIR, hash);
  }

  private staged?: { readonly assetPath: string; readonly config: lambda.CodeConfig };

  /**
   * @param sourcePath the directory to zip
   * @param assetHash its hash, computed when the package was built
   */
  constructor(
    private readonly sourcePath: string,
    private readonly assetHash: string,
  ) {
    super();
  }

  /** Stages the bundle on the first call; one HandlerCode serves one function. */
  public bind(scope: Construct): lambda.CodeConfig {
    if (!this.staged) {
      const stack = Stack.of(scope);
      const staging = new AssetStaging(scope, 'Code', {
        sourcePath: this.sourcePath,
        assetHash: this.assetHash,
        assetHashType: AssetHashType.CUSTOM,
      });
      const assetPath = staging.relativeStagedPath(stack);
      const location = stack.synthesizer.addFileAsset({
        fileName: assetPath,
        packaging: FileAssetPackaging.ZIP_DIRECTORY,
        sourceHash: staging.assetHash,
        deployTime: true,
        displayName: Names.stackRelativeConstructPath(staging),
      });
      this.staged = {
        assetPath,
        config: { s3Location: { bucketName: location.bucketName, objectKey: location.objectKey } },
      };
    }
    return this.staged.config;
  }

  /** The same asset metadata as `lambda.Code.fromAsset`, so `sam local invoke` finds the bundle. */
  public bindToResource(resource: CfnResource, options: lambda.ResourceBindOptions = {}): void {
    if (this.staged && resource.node.tryGetContext(cxapi.ASSET_RESOURCE_METADATA_ENABLED_CONTEXT)) {
      resource.cfnOptions.metadata = {
        ...resource.cfnOptions.metadata,
        [cxapi.ASSET_RESOURCE_METADATA_PATH_KEY]: this.staged.assetPath,
        [cxapi.ASSET_RESOURCE_METADATA_IS_BUNDLED_KEY]: false,
        [cxapi.ASSET_RESOURCE_METADATA_PROPERTY_KEY]: options.resourceProperty ?? 'Code',
      };
    }
  }
}
