import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import '../../local/node20.ts';
import { startPlatform, type Platform, type PlatformInfo } from '../../local/platform.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    platform: PlatformInfo;
  }
}

const MiB = 1024 * 1024;

/**
 * One local platform for the whole integration project: real stand-ins over real HTTP, tables in
 * memory (DynamoDB Local on disk is ~10x slower), 5 MiB parts so a 20 MiB file is 4 parts.
 */
export default async function setup(project: TestProject) {
  const dataDir = mkdtempSync(join(tmpdir(), 'vodstack-it-'));
  const platform: Platform = await startPlatform({
    dataDir,
    inMemoryTables: true,
    port: 0,
    context: { uploadPartSizeBytes: 5 * MiB, chunkSeconds: 12 },
    log: () => undefined,
    sweepEveryMs: 0,
  });
  const { stop, idle: _idle, faults: _faults, uploadDeadLetters: _deadLetters, sweep: _sweep, ...info } = platform;
  project.provide('platform', info);
  return async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
