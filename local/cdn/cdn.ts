import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { PlaybackPaths } from '#contracts/playback';
import { isEdgeResponse, loadEdgeFunction, type EdgeRequest } from './edge.ts';

export interface LocalCdnOptions {
  /** The media bucket and the S3 endpoint that holds it (read like CloudFront's OAC would). */
  readonly mediaBucket: string;
  readonly s3: { endpoint: string; accessKeyId: string; secretAccessKey: string };
  /** The playback-access CloudFront Function's source (the file CDK deploys). */
  readonly edgeFunction: string;
  /** The web app's viewer-request function (SPA fallback), also the file CDK deploys. */
  readonly appRoutesFunction: string;
  /** The KeyValueStore the function reads (`playback-key-{kid}` → key). */
  readonly keyValues: () => ReadonlyMap<string, string>;
  /** The built web app (`web/dist`); absent → a page that says how to build it. */
  readonly webRoot: string;
  /** `/config.json` for the web app (on AWS, written beside the app by the deployment). */
  readonly webConfig: () => Record<string, unknown>;
  readonly log?: (line: string) => void;
}

/** CloudFront compresses text of 1,000 B to 10 MB when the viewer accepts it. */
const COMPRESSIBLE = /^(text\/|application\/(json|javascript|xml|dash\+xml|vnd\.apple\.mpegurl|x-mpegurl)|image\/svg)/;
const MIN_COMPRESS = 1000;
const MAX_COMPRESS = 10 * 1024 * 1024;

/** What the distribution's response-headers policy adds to every response. */
const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
};

const WEB_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * The local stand-in for the CloudFront distribution, on the gateway's origin (which serves
 * `/api/*` itself): `/v/*` runs the same playback-access function CloudFront runs and reads the
 * rewritten key from the media bucket with range, conditional and compressed responses and the
 * object's own Content-Type and Cache-Control; everything else is the web app with the SPA
 * fallback (a path without a file extension gets `index.html`).
 */
export function createLocalCdn(options: LocalCdnOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const edge = loadEdgeFunction(options.edgeFunction, options.keyValues);
  const appRoutes = loadEdgeFunction(options.appRoutesFunction, () => new Map());
  const s3 = new S3Client({
    endpoint: options.s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: options.s3.accessKeyId, secretAccessKey: options.s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const webRoot = resolve(options.webRoot);

  async function media(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const result = await edge({ version: '1.0', request: toEdgeRequest(req, url), viewer: { ip: req.socket.remoteAddress ?? '127.0.0.1' } });
    if (isEdgeResponse(result)) {
      const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, v.value]));
      const body = typeof result.body === 'string' ? result.body : result.body ? Buffer.from(result.body.data, result.body.encoding === 'base64' ? 'base64' : 'utf8') : '';
      res.writeHead(result.statusCode, { ...SECURITY_HEADERS, ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const key = decodeURIComponent(result.uri.replace(/^\//, ''));
    const range = req.headers.range;
    const input = {
      Bucket: options.mediaBucket,
      Key: key,
      ...(range ? { Range: range } : {}),
      ...(req.headers['if-none-match'] ? { IfNoneMatch: req.headers['if-none-match'] } : {}),
      ...(req.headers['if-modified-since'] ? { IfModifiedSince: new Date(req.headers['if-modified-since']) } : {}),
    };
    const cors = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'Content-Length, Content-Range, ETag' };
    try {
      const out = req.method === 'HEAD' ? await s3.send(new HeadObjectCommand(input)) : await s3.send(new GetObjectCommand(input));
      const type = out.ContentType ?? 'application/octet-stream';
      const length = out.ContentLength ?? 0;
      const headers: Record<string, string> = {
        ...SECURITY_HEADERS,
        ...cors,
        'content-type': type,
        'accept-ranges': 'bytes',
        ...(out.CacheControl ? { 'cache-control': out.CacheControl } : {}),
        ...(out.ETag ? { etag: out.ETag } : {}),
        ...(out.LastModified ? { 'last-modified': out.LastModified.toUTCString() } : {}),
        ...('ContentRange' in out && out.ContentRange ? { 'content-range': out.ContentRange } : {}),
        vary: 'accept-encoding',
      };
      const status = 'ContentRange' in out && out.ContentRange ? 206 : 200;
      const gzip = !range && COMPRESSIBLE.test(type) && length >= MIN_COMPRESS && length <= MAX_COMPRESS && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      if (req.method === 'HEAD' || !('Body' in out) || !out.Body) {
        res.writeHead(status, { ...headers, 'content-length': String(length) }).end();
        return;
      }
      const body = out.Body as Readable;
      if (gzip) {
        res.writeHead(status, { ...headers, 'content-encoding': 'gzip' });
        await pipeline(body, createGzip(), res);
      } else {
        res.writeHead(status, { ...headers, 'content-length': String(length) });
        await pipeline(body, res);
      }
    } catch (error) {
      const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode ?? 502 : 502;
      if (status === 304) {
        res.writeHead(304, { ...SECURITY_HEADERS, ...cors }).end();
        return;
      }
      if (res.headersSent) {
        res.destroy(error as Error);
        return;
      }
      // CloudFront passes the origin's 403/404 (S3 answers 403 for a missing key under OAC without ListBucket).
      const code = status === 404 || status === 403 ? 404 : status === 416 ? 416 : 502;
      res.writeHead(code, { ...SECURITY_HEADERS, ...cors, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(code === 404 ? 'Not Found\n' : code === 416 ? 'Range Not Satisfiable\n' : 'Bad Gateway\n');
    }
  }

  async function web(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (url.pathname === '/config.json') {
      const body = JSON.stringify(options.webConfig());
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    // SPA fallback by the same function CloudFront runs: app routes get index.html.
    const routed = await appRoutes({ version: '1.0', request: toEdgeRequest(req, url), viewer: { ip: req.socket.remoteAddress ?? '127.0.0.1' } });
    if (isEdgeResponse(routed)) throw new Error('the app-routes function answered by itself; the local CDN expects a rewrite');
    const path = routed.uri;
    const file = normalize(join(webRoot, decodeURIComponent(path)));
    if (!file.startsWith(webRoot + sep) || !existsSync(file) || !statSync(file).isFile()) {
      if (path === '/index.html') {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('The web app is not built: run `npm run build:web`, then reload.\n');
        return;
      }
      res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n');
      return;
    }
    const type = WEB_TYPES[extname(file)] ?? 'application/octet-stream';
    const immutable = url.pathname.startsWith('/assets/');
    const size = statSync(file).size;
    const headers = {
      ...SECURITY_HEADERS,
      'content-type': type,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      vary: 'accept-encoding',
    };
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'content-length': String(size) }).end();
      return;
    }
    if (COMPRESSIBLE.test(type) && size >= MIN_COMPRESS && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      res.writeHead(200, { ...headers, 'content-encoding': 'gzip' });
      void pipeline(createReadStream(file), createGzip(), res).catch(() => res.destroy());
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(size) });
    void pipeline(createReadStream(file), res).catch(() => res.destroy());
  }

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname.startsWith(PlaybackPaths.prefix)) {
      media(req, res, url).catch((error: unknown) => {
        options.log?.(`cdn: ${String(error)}`);
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    web(req, res, url).catch((error: unknown) => {
      options.log?.(`cdn: ${String(error)}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  };
}

function toEdgeRequest(req: IncomingMessage, url: URL): EdgeRequest {
  const headers: EdgeRequest['headers'] = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && name !== 'cookie') headers[name] = { value: Array.isArray(value) ? value.join(',') : value };
  }
  const querystring: EdgeRequest['querystring'] = {};
  for (const [name, value] of url.searchParams) querystring[name] = { value };
  return { method: (req.method ?? 'GET').toUpperCase(), uri: url.pathname, querystring, headers, cookies: {} };
}
