import { setTimeout as sleep } from 'node:timers/promises';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import type { InvokeStoreBase } from '@aws/lambda-invoke-store';
import { describe, expect, it } from 'vitest';
import '../../local/lambda.ts';

describe('local Lambda runtime', () => {
  it('keeps overlapping invocations apart even when an SDK call came first (as the platform provisions before it invokes)', async () => {
    // The SDK's first request creates the process's InvokeStore (its recursion-detection middleware).
    const s3 = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await s3.send(new ListBucketsCommand({})).catch(() => undefined);
    s3.destroy();
    const store = (globalThis as { awslambda?: { InvokeStore?: InvokeStoreBase } }).awslambda?.InvokeStore;
    expect(store).toBeDefined();

    const key = Symbol('correlation');
    const invocation = (id: string, delayMs: number) =>
      store!.run({}, async () => {
        store!.set(key, id);
        await sleep(delayMs);
        return store!.get(key);
      });
    // A starts, B starts and sets its own value while A waits: A must still read its own.
    expect(await Promise.all([invocation('a', 30), invocation('b', 5)])).toEqual(['a', 'b']);
  });
});
