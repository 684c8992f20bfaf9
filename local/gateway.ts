import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { routes, type Route } from '#contracts/routes';

export interface GatewayOptions {
  readonly port: number;
  /** Token issuer and JWKS of the user pool, as the Cognito authorizer checks them. */
  readonly issuer: string;
  readonly jwksUrl: string;
  /** The app client id: an ID token's `aud` must equal it. */
  readonly clientId: string;
  /** Runs the route's function with the proxy event, as API Gateway's Lambda integration does. */
  readonly invoke: (route: Route, event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  /** Serves requests no route matched (e.g. the web app); default 404. */
  readonly fallback?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Request log sink; default one line per request on stdout. */
  readonly log?: (line: string) => void;
}

export interface LocalGateway {
  readonly url: string;
  stop(): Promise<void>;
}

/** API Gateway's REST payload limit. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1]);
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`), names };
}

/**
 * The local stand-in for API Gateway: serves the same route table, verifies the Cognito ID token
 * as the user-pool authorizer does (RS256 signature by JWKS, issuer, audience, `token_use`, expiry), and
 * hands each handler the REST-API proxy event it gets on AWS, claims included.
 */
export async function startLocalGateway(options: GatewayOptions): Promise<LocalGateway> {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl));
  const compiled = routes.map(compile);
  // Static segments win over parameters, as in API Gateway (`/videos/upload` before `/videos/{id}`).
  compiled.sort((a, b) => a.names.length - b.names.length);
  const log = options.log ?? ((line: string) => console.log(line));

  async function authorize(req: IncomingMessage): Promise<JWTPayload | undefined> {
    const header = req.headers.authorization;
    if (!header) return undefined;
    const token = header.replace(/^Bearer\s+/i, '');
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer: options.issuer, audience: options.clientId, algorithms: ['RS256'] });
      return payload['token_use'] === 'id' ? payload : undefined;
    } catch {
      return undefined;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = (req.method ?? 'GET').toUpperCase();
    const candidates = compiled.filter((c) => c.pattern.test(path));
    if (candidates.length === 0) {
      if (options.fallback && !path.startsWith('/api/')) return options.fallback(req, res);
      return send(res, 404, { message: 'Missing Authentication Token' }, {});
    }
    if (method === 'OPTIONS') {
      return send(res, 204, undefined, {
        'access-control-allow-origin': req.headers.origin ?? '*',
        'access-control-allow-methods': [...new Set(candidates.map((c) => c.route.method))].join(','),
        'access-control-allow-headers': 'authorization,content-type',
        'access-control-max-age': '600',
      });
    }
    const match = candidates.find((c) => c.route.method === method);
    if (!match) return send(res, 405, { message: `method ${method} is not allowed on ${path}` }, {});
    const { route } = match;

    const claims = route.auth === 'user' ? await authorize(req) : undefined;
    if (route.auth === 'user' && !claims) {
      req.resume();
      return send(res, 401, { message: 'Unauthorized' }, {});
    }
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { message: 'Request Too Long' }, {});

    const values = match.pattern.exec(path)?.slice(1) ?? [];
    const pathParameters = decodePathParameters(match.names, values);
    // A malformed escape (`%`, `%E0%A4%A`) is the client's error, as API Gateway answers it; never a 502.
    if (!pathParameters) return send(res, 400, { message: 'the path has a malformed percent-escape' }, {});
    const requestId = randomUUID();
    const event = toEvent(req, route, path, url, pathParameters, body, claims, requestId);
    let result: APIGatewayProxyResult;
    try {
      result = await options.invoke(route, event);
    } catch (error) {
      // On AWS an unhandled Lambda error is a 502 from API Gateway, never the error text.
      console.error(error);
      result = { statusCode: 502, body: JSON.stringify({ message: 'Internal server error' }) };
    }
    send(res, result.statusCode, result.body, { ...(result.headers ?? {}), 'x-amzn-requestid': requestId }, true);
    log(`${method} ${path} ${result.statusCode} ${(performance.now() - started).toFixed(1)}ms`);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error(error);
      if (!res.headersSent) send(res, 502, { message: 'Internal server error' }, {});
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${options.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Path parameters by name, URL-decoded as API Gateway hands them over; `undefined` if one is malformed. */
function decodePathParameters(names: readonly string[], values: readonly string[]): Record<string, string> | undefined {
  try {
    return Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(values[i] ?? '')]));
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<string | null | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    // Past the limit, read on without keeping it: leaving the loop would destroy the socket
    // before the 413 is written, and the client would see a reset instead of the answer.
    if (size <= MAX_PAYLOAD_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_PAYLOAD_BYTES) return undefined;
  return chunks.length ? Buffer.concat(chunks).toString('utf8') : null;
}

function toEvent(
  req: IncomingMessage,
  route: Route,
  path: string,
  url: URL,
  pathParameters: Record<string, string>,
  body: string | null,
  claims: JWTPayload | undefined,
  requestId: string,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.join(',');
    multiValueHeaders[name] = values;
  }
  // Names come from the client: without a prototype, `?constructor=` or `?__proto__=` is just a
  // name (as in the JSON event Lambda parses on AWS), not a TypeError or a prototype swap.
  const query: Record<string, string> = Object.create(null);
  const multiQuery: Record<string, string[]> = Object.create(null);
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const stringClaims = claims
    ? Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))
    : undefined;
  return {
    resource: route.path,
    path,
    httpMethod: route.method,
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length ? multiQuery : null,
    pathParameters: Object.keys(pathParameters).length ? pathParameters : null,
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: stringClaims ? { claims: stringClaims } : null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: route.method,
      identity: { sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: req.headers['user-agent'] ?? null } as APIGatewayProxyEvent['requestContext']['identity'],
      path,
      stage: 'local',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: route.id,
      resourcePath: route.path,
    },
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number | boolean>,
  raw = false,
): void {
  const text = body === undefined ? '' : raw && typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])),
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
