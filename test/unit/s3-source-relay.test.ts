import { request } from 'node:http';
import { PassThrough } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3SourceRelay } from '#adapters/s3-source-relay';

describe('S3SourceRelay', () => {
  it('ends the S3 read when ffmpeg hangs up mid-body (a seek or a kill), so no pooled socket is left taken', async () => {
    const body = new PassThrough({ highWaterMark: 16 });
    const size = 64 * 1024 * 1024;
    const s3 = { send: () => Promise.resolve({ Body: body, ContentLength: size, ContentRange: `bytes 0-${size - 1}/${size}` }) } as unknown as S3Client;
    const url = await new S3SourceRelay().url(s3, 'raw', 'uploads/abcdefghijk/source', 60);
    // S3 keeps sending faster than the reader takes it, so the relay waits for 'drain' when the reader goes.
    const pump = setInterval(() => body.write(Buffer.alloc(256 * 1024)), 5);
    try {
      await new Promise<void>((resolve, reject) => {
        const req = request(url, { headers: { range: 'bytes=0-' } }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => undefined);
        req.setTimeout(5000, () => reject(new Error('no data from the relay')));
        req.end();
      });
      const deadline = Date.now() + 5000;
      while (!body.destroyed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(body.destroyed).toBe(true);
    } finally {
      clearInterval(pump);
    }
  });

  it("forgets a finished task's sources: its URLs answer 404, another task's still serve", async () => {
    const clientOf = () =>
      ({ send: () => Promise.resolve({ Body: new PassThrough().end(Buffer.from('data')), ContentLength: 4, ContentRange: 'bytes 0-3/4' }) }) as unknown as S3Client;
    const relay = new S3SourceRelay();
    const [done, running] = [clientOf(), clientOf()];
    const doneUrl = await relay.url(done, 'raw', 'uploads/aaaaaaaaaaa/source', 3600);
    const runningUrl = await relay.url(running, 'raw', 'uploads/bbbbbbbbbbb/source', 3600);

    relay.forget(done);

    expect((await fetch(doneUrl)).status).toBe(404);
    const still = await fetch(runningUrl);
    expect(still.status).toBe(200);
    expect(await still.text()).toBe('data');
  });
});
