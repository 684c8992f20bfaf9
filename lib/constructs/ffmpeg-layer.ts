import { createHash } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, mkdirSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { AssetHashType, DockerImage, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { PROJECT_ROOT } from '#lib/constructs/app-function';

/** Where the layer's binaries are inside a Lambda sandbox (layers unpack under `/opt`). */
export const FfmpegLayerPaths = {
  ffmpeg: '/opt/bin/ffmpeg',
  ffprobe: '/opt/bin/ffprobe',
} as const;

/** The static x86_64 binaries the layer ships, as installed by npm (the same files local mode runs). */
export function ffmpegBinarySources(): { readonly ffmpeg: string; readonly ffprobe: string } {
  const require = createRequire(path.join(PROJECT_ROOT, 'package.json'));
  const dirOf = (pkg: string) => path.dirname(require.resolve(`${pkg}/package.json`));
  return {
    ffmpeg: path.join(dirOf('@ffmpeg-installer/linux-x64'), 'ffmpeg'),
    ffprobe: path.join(dirOf('@ffprobe-installer/linux-x64'), 'ffprobe'),
  };
}

/**
 * Writes the layer's content into `outputDir`: `bin/ffmpeg` and `bin/ffprobe`, mode 0755. The mode
 * matters: npm installs ffprobe as 0744, and Lambda runs functions as a user that owns nothing in
 * `/opt`, so a binary without the others' execute bit fails with EACCES there.
 */
export function stageFfmpegLayer(outputDir: string): void {
  const bin = path.join(outputDir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const [name, source] of Object.entries(ffmpegBinarySources())) {
    const target = path.join(bin, name);
    copyFileSync(source, target);
    chmodSync(target, 0o755);
  }
}

/** Bump when `stageFfmpegLayer` changes what it writes (layout or modes) for the same binaries. */
const LAYOUT_VERSION = 'bin-0755-v1';

let memoHash: string | undefined;

/**
 * A content hash of both binaries and the staging layout: the asset's identity. It changes exactly
 * when a binary does, so a deploy publishes a new layer version only then. Hashing the ~150 MB
 * takes about 0.3 s, once per process.
 */
export function ffmpegLayerHash(): string {
  if (memoHash) return memoHash;
  const hash = createHash('sha256').update(LAYOUT_VERSION);
  const buffer = Buffer.alloc(4 * 1024 * 1024);
  for (const [name, source] of Object.entries(ffmpegBinarySources())) {
    hash.update(`\0${name}\0`);
    const fd = openSync(source, 'r');
    try {
      for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) hash.update(buffer.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }
  memoHash = hash.digest('hex');
  return memoHash;
}

/** Props of {@link FfmpegLayer}. */
export interface FfmpegLayerProps {
  /**
   * What happens to old layer versions when a new one replaces them.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A Lambda layer with the static ffmpeg and ffprobe binaries (x86_64) from
 * `@ffmpeg-installer/linux-x64` and `@ffprobe-installer/linux-x64`, at `/opt/bin/ffmpeg` and
 * `/opt/bin/ffprobe` ({@link FfmpegLayerPaths}).
 *
 * The asset is built at synth without Docker: CDK "local bundling" copies the two binaries into the
 * asset directory (`layers/ffmpeg` is only its nominal source). Its hash is the binaries' content
 * hash, so the staged copy in `cdk.out/asset.<hash>` is reused by every later synth, and a stack
 * whose bundling is skipped (`aws:cdk:bundling-stacks`, as tests and local mode do) copies nothing.
 */
export class FfmpegLayer extends Construct {
  /** The layer version (construct id `Resource`). */
  public readonly layer: LayerVersion;

  constructor(scope: Construct, id: string, props: FfmpegLayerProps = {}) {
    super(scope, id);
    const code = Code.fromAsset(path.join(PROJECT_ROOT, 'layers', 'ffmpeg'), {
      assetHashType: AssetHashType.CUSTOM,
      assetHash: ffmpegLayerHash(),
      bundling: {
        // Never pulled: local bundling below always succeeds or throws.
        image: DockerImage.fromRegistry('public.ecr.aws/docker/library/busybox:stable'),
        local: {
          tryBundle(outputDir: string): boolean {
            stageFfmpegLayer(outputDir);
            return true;
          },
        },
      },
    });
    this.layer = new LayerVersion(this, 'Resource', {
      code,
      description: 'Static ffmpeg and ffprobe (x86_64) at /opt/bin',
      compatibleArchitectures: [Architecture.X86_64],
      compatibleRuntimes: [Runtime.NODEJS_22_X],
      license: 'GPL-3.0',
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
  }
}
