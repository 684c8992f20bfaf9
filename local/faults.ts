import { createServer, request, Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './net.ts';

/** The stand-ins a fault proxy can sit in front of (the names of their `AWS_ENDPOINT_URL_*` services). */
export const FaultServices = ['s3', 'dynamodb', 'cognito', 'sfn', 'secrets', 'sts', 'kms'] as const;
export type FaultService = (typeof FaultServices)[number];

/** Platform option: interpose fault proxies between the functions and the stand-ins. */
export interface FaultOptions {
  /**
   * Fraction of calls (0..1) each proxied service answers with its own throttling error.
   * @default 0 - proxies pass everything through until told otherwise
   */
  readonly throttleRate?: number;
  /** Seed of the throttling decisions, so a run can be repeated. @default 1 */
  readonly seed?: number;
}

/** What one proxy saw. */
export interface FaultStats {
  /** Requests that reached the proxy (refused connections during an outage are not requests). */
  readonly requests: number;
  readonly throttled: number;
  /** Open connections cut when the service was stopped (refused connects happen in the kernel, uncounted). */
  readonly refused: number;
}

/**
 * Fault injection for local mode, at the wire: what a client of the stand-in sees when AWS
 * throttles or a dependency goes away. Handlers are not touched; only their endpoints point here.
 */
export interface Faults {
  /** True when the platform was started with `faults` (otherwise every control throws). */
  readonly enabled: boolean;
  /** Throttle this fraction of calls to these services (default: all of them); 0 stops throttling. */
  throttle(rate: number, services?: readonly FaultService[]): void;
  /** Stops a service as a crashed server would: open connections are cut, new ones refused. */
  stop(service: FaultService): Promise<void>;
  /** Brings a stopped service back on the same port. */
  start(service: FaultService): Promise<void>;
  /** `stop`, wait `ms`, `start`: resolves once the service answers again. */
  outage(service: FaultService, ms: number): Promise<void>;
  stats(): Record<FaultService, FaultStats>;
}

/** One proxy: the port the functions call, and the stand-in it forwards to. */
export interface FaultProxy {
  readonly endpoint: string;
  readonly stats: FaultStats;
  throttleRate: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Each service's own throttling answer, as its SDK client parses it: the JSON protocols name the
 * error in `__type` (the SDK reads the part after `#`), S3 answers `503 SlowDown` in XML, STS
 * (awsQuery) an `<ErrorResponse>` with code `Throttling`. Every one of these is in the SDK's list
 * of throttling errors, so clients back off and retry.
 */
const THROTTLED: Record<FaultService, { status: number; contentType: string; body: string }> = {
  dynamodb: {
    status: 400,
    contentType: 'application/x-amz-json-1.0',
    body: JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
    }),
  },
  s3: {
    status: 503,
    contentType: 'application/xml',
    body: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>LOCALFAULT</RequestId></Error>',
  },
  sfn: { status: 400, contentType: 'application/x-amz-json-1.0', body: JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }) },
  cognito: {
    status: 400,
    contentType: 'application/x-amz-json-1.1',
    body: JSON.stringify({ __type: 'TooManyRequestsException', message: 'Too many requests' }),
  },
  secrets: { status: 400, contentType: 'application/x-amz-json-1.1', body: JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }) },
  sts: {
    status: 400,
    contentType: 'text/xml',
    body: '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>LOCALFAULT</RequestId></ErrorResponse>',
  },
  kms: { status: 400, contentType: 'application/x-amz-json-1.1', body: JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }) },
};

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/**
 * A loopback HTTP proxy in front of one stand-in. It forwards requests unchanged (the `Host`
 * header included, so SigV4 signatures — presigned URLs too — still verify), answers a seeded
 * fraction of them with the service's throttling error, and can be stopped and started on the
 * same port.
 */
export async function startFaultProxy(options: {
  readonly service: FaultService;
  /** The stand-in, `http://127.0.0.1:PORT`. */
  readonly target: string;
  readonly throttleRate?: number;
  readonly seed?: number;
  readonly port?: number;
}): Promise<FaultProxy> {
  const target = new URL(options.target);
  const port = options.port ?? (await freePort());
  const random = mulberry32((options.seed ?? 1) ^ hash(options.service));
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const counts = { requests: 0, throttled: 0, refused: 0 };
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    counts.requests++;
    // Cognito throttles its API (`X-Amz-Target` calls), not the token keys it publishes.
    const api = options.service !== 'cognito' || req.headers['x-amz-target'] !== undefined;
    if (api && proxy.throttleRate > 0 && random() < proxy.throttleRate) {
      counts.throttled++;
      // Read the body first: answering a streaming upload early would look like a reset to the client.
      req.resume();
      req.once('end', () => {
        const answer = THROTTLED[options.service];
        res.writeHead(answer.status, {
          'content-type': answer.contentType,
          'content-length': Buffer.byteLength(answer.body),
          'x-amzn-requestid': 'LOCALFAULT',
          ...(options.service === 'dynamodb' ? { 'x-amzn-errortype': 'ProvisionedThroughputExceededException' } : {}),
        });
        res.end(answer.body);
      });
      return;
    }
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: withoutHopByHop(req.headers), agent },
      (answer) => {
        const headers = withoutHopByHop(answer.headers);
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers);
        answer.pipe(res);
        answer.once('error', () => res.destroy());
      },
    );
    upstream.once('error', () => res.destroy());
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };

  const listen = async () => {
    const created = createServer({ requestTimeout: 0, keepAliveTimeout: 5000 }, handle);
    created.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    // The port was ours a moment ago; if something else grabbed it meanwhile, wait for it.
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          created.once('error', reject);
          created.listen(port, '127.0.0.1', () => {
            created.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 50) throw error;
        await sleep(100);
      }
    }
    server = created;
  };

  const stop = async () => {
    const current = server;
    if (!current) return;
    server = undefined;
    const closed = new Promise<void>((resolve) => current.close(() => resolve()));
    // A crashed server drops what it was doing: every open connection is reset.
    for (const socket of sockets) {
      counts.refused++;
      socket.resetAndDestroy();
    }
    await closed;
  };

  const proxy: FaultProxy = {
    endpoint: `http://127.0.0.1:${port}`,
    get stats() {
      return { ...counts };
    },
    throttleRate: options.throttleRate ?? 0,
    stop,
    start: async () => {
      if (!server) await listen();
    },
    close: async () => {
      await stop();
      agent.destroy();
    },
  };
  await listen();
  return proxy;
}

/** The controls of a set of proxies, one per service. */
export function faultControls(proxies: ReadonlyMap<FaultService, FaultProxy>): Faults {
  const proxyOf = (service: FaultService) => {
    const proxy = proxies.get(service);
    if (!proxy) throw new Error(`no fault proxy for ${service}: start the platform with the \`faults\` option`);
    return proxy;
  };
  return {
    enabled: proxies.size > 0,
    throttle(rate, services) {
      if (!(rate >= 0 && rate <= 1)) throw new Error(`a throttle rate is between 0 and 1, not ${rate}`);
      for (const service of services ?? (proxies.size ? [...proxies.keys()] : FaultServices)) proxyOf(service).throttleRate = rate;
    },
    stop: (service) => proxyOf(service).stop(),
    start: (service) => proxyOf(service).start(),
    async outage(service, ms) {
      const proxy = proxyOf(service);
      await proxy.stop();
      try {
        await sleep(ms);
      } finally {
        await proxy.start();
      }
    },
    stats() {
      return Object.fromEntries(
        FaultServices.map((s) => [s, proxies.get(s)?.stats ?? { requests: 0, throttled: 0, refused: 0 }]),
      ) as Record<FaultService, FaultStats>;
    },
  };
}

function withoutHopByHop(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/** A small seeded PRNG (mulberry32): the same seed throttles the same sequence of calls. */
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

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
