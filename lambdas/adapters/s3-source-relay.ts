import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isTransient } from './transient-errors.ts';

interface Source {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly expires: number;
}

/** Times a cut or throttled read is resumed before the relay gives up on a response. */
const RESUMES = 5;

/**
 * A loopback HTTP server in the worker that serves one S3 object to ffmpeg, range by range, through
 * the SDK: a throttled read (`503 SlowDown`) is retried with the SDK's backoff and a connection cut
 * mid-body is resumed from the byte reached. ffmpeg's own HTTP client (4.1, in the layer) does
 * neither: it reports a refused range as a "partial file", which would fail a good upload as
 * corrupt. Each source gets an unguessable path that expires; nothing else is served.
 */
export class S3SourceRelay {
  private server: Promise<{ server: Server; port: number }> | undefined;
  private readonly sources = new Map<string, Source>();

  /**
   * A loopback URL serving `bucket/key` for `ttlSeconds`, read with `s3` (each source keeps its
   * own client: one relay serves tasks that hold grants for different videos).
   */
  async url(s3: S3Client, bucket: string, key: string, ttlSeconds: number): Promise<string> {
    const { port } = await this.listening();
    const now = Date.now();
    for (const [token, source] of this.sources) if (source.expires < now) this.sources.delete(token);
    const token = randomBytes(18).toString('base64url');
    this.sources.set(token, { s3, bucket, key, expires: now + ttlSeconds * 1000 });
    // The key rides along (unused by the relay) so a process list shows which source ffmpeg reads.
    return `http://127.0.0.1:${port}/${token}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  /**
   * Stops serving every source read with `s3` (a task's client, once the task is done), so the
   * relay does not hold finished tasks' clients until their URLs expire.
   */
  forget(s3: S3Client): void {
    for (const [token, source] of this.sources) if (source.s3 === s3) this.sources.delete(token);
  }

  private listening() {
    this.server ??= new Promise((resolve, reject) => {
      const server = createServer((req, res) => void this.serve(req, res));
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        // The relay must not keep a finished worker alive.
        server.unref();
        resolve({ server, port: (server.address() as AddressInfo).port });
      });
    });
    return this.server;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const source = this.sources.get((req.url ?? '').split('/')[1] ?? '');
    if (!source || source.expires < Date.now() || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let first: Awaited<ReturnType<S3SourceRelay['get']>>;
    try {
      first = await this.get(source, range ? Number(range[1]) : 0, range?.[2] ? Number(range[2]) : undefined);
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      res.writeHead(status === 416 ? 416 : isTransient(error) ? 503 : 404).end();
      return;
    }
    const { total, start, end } = first;
    res.writeHead(range ? 206 : 200, {
      'content-length': end - start + 1,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      ...(range ? { 'content-range': `bytes ${start}-${end}/${total}` } : {}),
    });
    if (req.method === 'HEAD') {
      first.body.destroy();
      res.end();
      return;
    }
    let body: Readable = first.body;
    // ffmpeg hangs up whenever it seeks (and when it is killed): the S3 read must end with it, or
    // its pooled socket stays taken until the SDK's pool is exhausted and every S3 call waits.
    res.once('close', () => body.destroy());
    let sent = start;
    for (let resumes = 0; ; ) {
      try {
        for await (const chunk of body) {
          if (res.destroyed) return void body.destroy();
          if (!res.write(chunk as Buffer)) {
            await new Promise<void>((resolve) => {
              // Whichever comes first; the other listener goes too, or one piles up per wait.
              const done = () => {
                res.off('drain', done).off('close', done);
                resolve();
              };
              res.once('drain', done).once('close', done);
            });
          }
          sent += (chunk as Buffer).length;
          if (res.destroyed) return void body.destroy();
        }
        if (sent > end) return void res.end();
        throw new Error('the object body ended early');
      } catch (error) {
        if (res.destroyed || ++resumes > RESUMES) return void res.destroy(error as Error);
        try {
          body = (await this.get(source, sent, end)).body;
          if (res.destroyed) return void body.destroy();
        } catch (again) {
          return void res.destroy(again as Error);
        }
      }
    }
  }

  /** GetObject of `start..end`, retried by the SDK; the body and the object's size. */
  private async get(source: Source, start: number, end: number | undefined) {
    const answer = await source.s3.send(
      new GetObjectCommand({ Bucket: source.bucket, Key: source.key, Range: `bytes=${start}-${end ?? ''}` }),
    );
    const total = Number(/\/(\d+)$/.exec(answer.ContentRange ?? '')?.[1] ?? answer.ContentLength ?? 0);
    return { body: answer.Body as Readable, total, start, end: Math.min(end ?? total - 1, total - 1) };
  }
}
