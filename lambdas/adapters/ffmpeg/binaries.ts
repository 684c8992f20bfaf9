import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Env } from '#contracts/env';

/** Absolute paths of the two binaries every media step runs. */
export interface MediaBinaries {
  readonly ffmpeg: string;
  readonly ffprobe: string;
}

/** Where the ffmpeg Lambda layer puts the binaries (layers unpack under `/opt`). */
const LAYER_DIR = '/opt/bin';

const require = createRequire(import.meta.url);

/** The binary inside its npm package (local mode and tests: the same file the layer ships). */
function fromPackage(pkg: string, binary: string): string {
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), binary);
  } catch (cause) {
    throw new Error(`${binary} not found: set ${binary === 'ffmpeg' ? Env.ffmpegPath : Env.ffprobePath}, attach the ffmpeg layer, or install ${pkg}`, { cause });
  }
}

function resolveOne(binary: 'ffmpeg' | 'ffprobe', override: string | undefined, pkg: string): string {
  if (override) return override;
  const layered = join(LAYER_DIR, binary);
  if (existsSync(layered)) return layered;
  return fromPackage(pkg, binary);
}

let cached: MediaBinaries | undefined;

/**
 * Resolves ffmpeg and ffprobe: `FFMPEG_PATH`/`FFPROBE_PATH` first, then the Lambda layer's
 * `/opt/bin`, then the npm packages. Resolved once per process unless `env` is passed (tests).
 */
export function mediaBinaries(env?: Readonly<Record<string, string | undefined>>): MediaBinaries {
  if (env === undefined && cached) return cached;
  const source = env ?? process.env;
  const resolved: MediaBinaries = {
    ffmpeg: resolveOne('ffmpeg', source[Env.ffmpegPath], '@ffmpeg-installer/linux-x64'),
    ffprobe: resolveOne('ffprobe', source[Env.ffprobePath], '@ffprobe-installer/linux-x64'),
  };
  if (env === undefined) cached = resolved;
  return resolved;
}
