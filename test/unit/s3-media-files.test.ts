import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3MediaFiles } from '#adapters/s3-media-files';

describe('S3MediaFiles.putFile', () => {
  it('retries a throttled upload with a fresh stream of the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vodstack-putfile-'));
    const path = join(dir, 'poster.jpg');
    writeFileSync(path, 'jpeg bytes');
    const bodies: string[] = [];
    let calls = 0;
    const s3 = {
      send: async (command: { input: { Body: AsyncIterable<Buffer>; ContentLength: number } }) => {
        calls++;
        if (calls === 1) throw Object.assign(new Error('slow down'), { name: 'SlowDown' });
        const chunks: Buffer[] = [];
        for await (const chunk of command.input.Body) chunks.push(chunk);
        bodies.push(`${Buffer.concat(chunks).toString()}/${command.input.ContentLength}`);
        return {};
      },
    } as unknown as S3Client;

    await new S3MediaFiles(s3, 'raw', 'media').putFile(path, 'videos/x/thumbs/poster.jpg');

    expect(calls).toBe(2);
    expect(bodies).toEqual(['jpeg bytes/10']);
    await rm(dir, { recursive: true, force: true });
  });

  it('rejects, rather than crashing the worker, when the file is gone before a retry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vodstack-putfile-'));
    const path = join(dir, 'candidate-3.jpg');
    writeFileSync(path, 'jpeg bytes');
    // The first attempt is throttled and, meanwhile, the task's temp dir is removed (as when a
    // sibling upload failed and the task cleaned up).
    const s3 = {
      send: async () => {
        await rm(dir, { recursive: true, force: true });
        throw Object.assign(new Error('slow down'), { name: 'SlowDown' });
      },
    } as unknown as S3Client;

    await expect(new S3MediaFiles(s3, 'raw', 'media').putFile(path, 'videos/x/thumbs/candidate-3.jpg')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
