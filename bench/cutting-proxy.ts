/**
 * A loopback HTTP reverse proxy that cuts chosen part uploads midway: it forwards about half of
 * the body to the upstream (the S3 stand-in), then destroys both sockets, as a dropped Wi-Fi or a
 * closed laptop lid would. Every other request is forwarded untouched.
 *
 * The upstream verifies SigV4 over the `host` header, so requests are forwarded with the Host the
 * URL was signed for (the upstream's host:port), not the proxy's.
 */
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A part PUT as the proxy sees it (`attempt` counts requests for that upload and part number). */
export interface PartRequestInfo {
  readonly uploadId: string;
  readonly partNumber: number;
  readonly attempt: number;
  readonly size: number;
}

export interface CutRecord extends PartRequestInfo {
  /** Body bytes forwarded upstream before the cut. */
  readonly forwardedBytes: number;
}

export interface CuttingProxyOptions {
  /** Origin of the upstream, e.g. `http://127.0.0.1:4001`. */
  readonly upstream: string;
  /** Which part PUTs to cut. */
  readonly shouldCut: (part: PartRequestInfo) => boolean;
  /** Fraction of the body forwarded before the cut. @default 0.5 */
  readonly cutAtFraction?: number;
}

export interface ProxyStats {
  readonly requests: number;
  readonly partRequests: number;
  /** Request body bytes received from clients (cut requests included). */
  readonly bodyBytesReceived: number;
  readonly cuts: readonly CutRecord[];
}

export interface CuttingProxy {
  /** `127.0.0.1:PORT`: put it in a URL in place of the upstream's host. */
  readonly host: string;
  /** The same URL with the proxy's host:port. */
  rewrite(url: string): string;
  stats(): ProxyStats;
  close(): Promise<void>;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

function forwardable(headers: IncomingHttpHeaders, host?: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...headers };
  for (const name of HOP_BY_HOP) delete out[name];
  if (host !== undefined) out['host'] = host;
  return out;
}

/**
 * Deterministic choice of requests to cut: the first attempt of `k` parts picked by a seeded
 * shuffle, `k` chosen so that cut requests are `rate` of all part requests (`k / (parts + k)`,
 * since each cut part is sent once more). Retries pass. Independent of timing and arrival order,
 * so a run cuts the same parts every time.
 */
export function seededCut(seed: number, rate: number, partCount: number): { parts: readonly number[]; shouldCut: (part: PartRequestInfo) => boolean } {
  const k = Math.min(partCount, Math.round((rate * partCount) / (1 - rate)));
  const random = mulberry32(seed);
  const order = Array.from({ length: partCount }, (_, i) => i + 1);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const parts = order.slice(0, k).sort((a, b) => a - b);
  const chosen = new Set(parts);
  return { parts, shouldCut: ({ partNumber, attempt }) => attempt === 1 && chosen.has(partNumber) };
}

/** A small seeded PRNG (uniform in [0, 1)). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startCuttingProxy(options: CuttingProxyOptions): Promise<CuttingProxy> {
  const upstream = new URL(options.upstream);
  const upstreamHost = upstream.host; // host:port, as the URLs were signed for
  const fraction = options.cutAtFraction ?? 0.5;
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const attempts = new Map<string, number>();
  const cuts: CutRecord[] = [];
  let requests = 0;
  let partRequests = 0;
  let bodyBytesReceived = 0;

  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    requests++;
    const url = new URL(req.url ?? '/', 'http://proxy');
    const uploadId = url.searchParams.get('uploadId');
    const partNumber = Number(url.searchParams.get('partNumber'));
    const size = Number(req.headers['content-length'] ?? 0);
    let part: PartRequestInfo | undefined;
    if (req.method === 'PUT' && uploadId !== null && Number.isInteger(partNumber) && partNumber > 0) {
      partRequests++;
      const key = `${uploadId}#${partNumber}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      part = { uploadId, partNumber, attempt, size };
    }
    const cut = part !== undefined && size > 0 && options.shouldCut(part);
    const cutAfter = cut ? Math.max(1, Math.floor(size * fraction)) : Infinity;

    const up = httpRequest({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: forwardable(req.headers, upstreamHost),
      agent,
    });
    let cutDone = false;
    up.on('response', (upRes) => {
      if (cutDone) return upRes.destroy();
      res.writeHead(upRes.statusCode ?? 502, forwardable(upRes.headers));
      upRes.pipe(res);
    });
    up.on('error', () => {
      if (cutDone) return;
      if (!res.headersSent) res.writeHead(502, { 'content-length': '0' }).end();
      else res.destroy();
    });
    req.on('error', () => up.destroy());

    let forwarded = 0;
    req.on('data', (chunk: Buffer) => {
      if (cutDone) return;
      bodyBytesReceived += chunk.length;
      if (forwarded + chunk.length >= cutAfter) {
        const head = chunk.subarray(0, cutAfter - forwarded);
        forwarded += head.length;
        cutDone = true;
        req.pause();
        cuts.push({ ...part!, forwardedBytes: forwarded });
        // Let the half reach the upstream, then drop both connections without a response.
        up.write(head, () => {
          req.socket.destroy();
          up.destroy();
        });
        return;
      }
      forwarded += chunk.length;
      if (!up.write(chunk)) {
        req.pause();
        up.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      if (!cutDone) up.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  return {
    host,
    rewrite(url) {
      const u = new URL(url);
      u.host = host;
      return u.toString();
    },
    stats: () => ({ requests, partRequests, bodyBytesReceived, cuts: [...cuts] }),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
    },
  };
}
