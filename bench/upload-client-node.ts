/**
 * Node side of the upload client: sends a byte range of a file to a presigned URL with
 * `node:http(s)`, streamed from disk (never buffered), counting bytes as they go out.
 */
import { createReadStream } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PartResponse, SendPart } from './upload-client.ts';

export interface FileRangePut {
  readonly url: string;
  readonly file: string;
  readonly offset: number;
  readonly size: number;
  readonly signal?: AbortSignal;
  readonly onBytesSent?: (bytes: number) => void;
  /** @default a keep-alive agent shared by this module */
  readonly agent?: HttpAgent;
  /** Read size from disk (also the write size to the socket). @default 1 MiB */
  readonly chunkBytes?: number;
  /** Extra request headers (Content-Length is always set to `size`). */
  readonly headers?: Readonly<Record<string, string>>;
}

const sharedHttp = new HttpAgent({ keepAlive: true, maxSockets: Infinity });
const sharedHttps = new HttpsAgent({ keepAlive: true, maxSockets: Infinity });
const MAX_RESPONSE_BODY = 64 * 1024;

/**
 * PUTs `size` bytes of `file` from `offset` to `url`. Resolves with the answer (any status);
 * rejects only if no answer came (connection refused, reset, aborted).
 */
export function putFileRange(put: FileRangePut): Promise<PartResponse> {
  const target = new URL(put.url);
  const https = target.protocol === 'https:';
  return new Promise<PartResponse>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    const req = (https ? httpsRequest : httpRequest)(target, {
      method: 'PUT',
      headers: { ...put.headers, 'content-length': String(put.size) },
      agent: put.agent ?? (https ? sharedHttps : sharedHttp),
      ...(put.signal ? { signal: put.signal } : {}),
    });
    let answered = false;
    req.once('error', (error) => {
      if (!answered) settle(() => reject(error));
    });
    req.once('response', (res: IncomingMessage) => {
      answered = true;
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        if (length < MAX_RESPONSE_BODY) chunks.push(chunk);
        length += chunk.length;
      });
      res.once('end', () => {
        const etag = res.headers.etag;
        settle(() =>
          resolve({ status: res.statusCode ?? 0, etag: etag || undefined, body: Buffer.concat(chunks).toString('utf8') }),
        );
      });
      res.once('error', (error) => settle(() => reject(error)));
      res.once('close', () => settle(() => reject(new Error('connection closed while reading the response'))));
    });
    if (put.size === 0) {
      req.end();
      return;
    }
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        put.onBytesSent?.(chunk.length);
        callback(null, chunk);
      },
    });
    const body = createReadStream(put.file, {
      start: put.offset,
      end: put.offset + put.size - 1,
      highWaterMark: put.chunkBytes ?? 1024 * 1024,
    });
    // An early answer (an error) may stop the upload midway: the response then decides.
    pipeline(body, counter, req).catch((error: unknown) => {
      if (answered) return;
      req.destroy();
      settle(() => reject(error));
    });
  });
}

/** A {@link SendPart} for `uploadFile`/`resumeUpload` that reads the parts from `file`. */
export function filePartSender(file: string, options: { agent?: HttpAgent; chunkBytes?: number } = {}): SendPart {
  return (request) =>
    putFileRange({
      url: request.url,
      file,
      offset: request.offset,
      size: request.size,
      signal: request.signal,
      onBytesSent: request.onBytesSent,
      ...options,
    });
}
