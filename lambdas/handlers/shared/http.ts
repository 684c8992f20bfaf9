import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { z, type ZodType } from 'zod';
import type { ErrorBody } from '#contracts/api';
import { MetricDimensions, Metrics } from '#contracts/metrics';
import { routes } from '#contracts/routes';
import { AppError, UnauthorizedError, ValidationError } from '#domain/errors';
import { correlationId, logger, metrics, observability, saneCorrelationId, useCorrelationId } from './observability.ts';

/** The verified caller, from the claims the Cognito authorizer put on the request. */
export interface Caller {
  readonly userId: string;
  readonly email: string | undefined;
}

export interface HttpInput<B, P, Q = undefined> {
  readonly body: B;
  readonly params: P;
  /** The parsed query string (`schemas.query`); `undefined` without one. */
  readonly query: Q;
  readonly caller: Caller;
}

export interface HttpOutput {
  readonly statusCode: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

interface Schemas<B, P, Q = undefined> {
  readonly body?: ZodType<B>;
  readonly params?: ZodType<P>;
  readonly query?: ZodType<Q>;
}

const MAX_BODY_BYTES = 1024 * 1024;

/** Verifies an ID token sent to an `auth: 'optional'` route (no authorizer runs there). */
export interface IdTokenVerifier {
  /** The caller, or `undefined` when the token is not a valid, unexpired ID token of the pool. */
  verify(token: string): Promise<Caller | undefined>;
}

/**
 * Like {@link httpHandler}, for routes anyone may call (`auth: 'optional'` in the route table):
 * `caller` is `undefined` without an `Authorization` header, and a header with a bad or expired
 * token is a 401 (not silently anonymous), so a signed-in client learns to refresh its token.
 */
export function optionalAuthHttpHandler<B = undefined, P = undefined, Q = undefined>(
  schemas: Schemas<B, P, Q> & { readonly verifier: () => IdTokenVerifier },
  fn: (input: Omit<HttpInput<B, P, Q>, 'caller'> & { readonly caller: Caller | undefined }, event: APIGatewayProxyEvent) => Promise<HttpOutput>,
) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
    .use(observability())
    .use(requestObservability())
    .use({ onError: mapError })
    .handler(async (event) => {
      const caller = await optionalCallerOf(event, schemas.verifier);
      const params = schemas.params ? parse(schemas.params, event.pathParameters ?? {}, 'path') : (undefined as P);
      const query = schemas.query ? parse(schemas.query, event.queryStringParameters ?? {}, 'query') : (undefined as Q);
      const body = schemas.body ? parse(schemas.body, jsonBody(event), 'body') : (undefined as B);
      const out = await fn({ body, params, query, caller }, event);
      return respond(out.statusCode, out.body, out.headers);
    });
}

/**
 * Like {@link httpHandler}, for routes with `auth: 'public'` in the route table: no token is read
 * and there is no caller.
 */
export function publicHttpHandler<B = undefined, P = undefined, Q = undefined>(
  schemas: Schemas<B, P, Q>,
  fn: (input: Omit<HttpInput<B, P, Q>, 'caller'>, event: APIGatewayProxyEvent) => Promise<HttpOutput>,
) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
    .use(observability())
    .use(requestObservability())
    .use({ onError: mapError })
    .handler(async (event) => {
      const params = schemas.params ? parse(schemas.params, event.pathParameters ?? {}, 'path') : (undefined as P);
      const query = schemas.query ? parse(schemas.query, event.queryStringParameters ?? {}, 'query') : (undefined as Q);
      const body = schemas.body ? parse(schemas.body, jsonBody(event), 'body') : (undefined as B);
      const out = await fn({ body, params, query }, event);
      return respond(out.statusCode, out.body, out.headers);
    });
}

async function optionalCallerOf(event: APIGatewayProxyEvent, verifier: () => IdTokenVerifier): Promise<Caller | undefined> {
  const header = headerOf(event, 'authorization');
  if (!header) return undefined;
  const token = /^Bearer\s+(\S+)$/i.exec(header.trim())?.[1];
  const caller = token ? await verifier().verify(token) : undefined;
  if (!caller) throw new UnauthorizedError('the ID token is invalid or expired: sign in again, or send no Authorization header');
  return caller;
}

/**
 * The one HTTP wrapper every API handler goes through: parses the body, path parameters and
 * query string with zod (failures become 400s that name each bad field), reads the caller's claims, maps
 * domain errors to statuses, and never lets a stack trace reach a client. Every request gets a
 * correlation id (logged on each line, returned as `x-correlation-id`) and its route's RED
 * metrics (see {@link requestObservability}).
 */
export function httpHandler<B = undefined, P = undefined, Q = undefined>(
  schemas: Schemas<B, P, Q>,
  fn: (input: HttpInput<B, P, Q>, event: APIGatewayProxyEvent) => Promise<HttpOutput>,
) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
    .use(observability())
    .use(requestObservability())
    .use({ onError: mapError })
    .handler(async (event) => {
      const caller = callerOf(event);
      const params = schemas.params ? parse(schemas.params, event.pathParameters ?? {}, 'path') : (undefined as P);
      const query = schemas.query ? parse(schemas.query, event.queryStringParameters ?? {}, 'query') : (undefined as Q);
      const body = schemas.body ? parse(schemas.body, jsonBody(event), 'body') : (undefined as B);
      const out = await fn({ body, params, query, caller }, event);
      return respond(out.statusCode, out.body, out.headers);
    });
}

function callerOf(event: APIGatewayProxyEvent): Caller {
  const claims = (event.requestContext.authorizer?.['claims'] ?? {}) as Record<string, unknown>;
  const userId = claims['sub'];
  if (typeof userId !== 'string' || !userId) throw new UnauthorizedError('sign in: this route needs a valid ID token');
  return { userId, email: typeof claims['email'] === 'string' ? claims['email'] : undefined };
}

function jsonBody(event: APIGatewayProxyEvent): unknown {
  if (event.body === null || event.body === undefined || event.body === '') {
    throw new ValidationError('the request needs a JSON body');
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new ValidationError('the JSON body must be at most 1 MiB');
  const type = headerOf(event, 'content-type');
  if (type && !/^application\/json\b/i.test(type)) {
    throw new ValidationError(`send the body as application/json (got ${type.slice(0, 100)})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('the body is not valid JSON');
  }
}

function parse<T>(schema: ZodType<T>, value: unknown, where: 'body' | 'path' | 'query'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => describeIssue(issue, where, value));
  throw new ValidationError(details.join('; '), { details });
}

function describeIssue(issue: z.core.$ZodIssue, where: 'body' | 'path' | 'query', root: unknown): string {
  const path = issue.path.length ? issue.path.join('.') : where;
  if (issue.path.length && valueAt(root, issue.path) === undefined) return `${path}: is required`;
  if (issue.code === 'unrecognized_keys') {
    return `${path === where ? where : path}: remove unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
    return `${path}: must be ${issue.expected}`;
  }
  return `${path}: ${issue.message}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function headerOf(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value) return value;
  }
  return undefined;
}

function respond(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}

/** The header a request's correlation id comes in (when the client sends a sane one) and goes back in. */
export const CORRELATION_HEADER = 'x-correlation-id';

/** The route id of a request: its API Gateway resource and method, looked up in the route table. */
export function routeIdOf(event: Pick<APIGatewayProxyEvent, 'resource' | 'httpMethod'>): string {
  return routes.find((r) => r.path === event.resource && r.method === event.httpMethod)?.id ?? 'Unknown';
}

type HttpRequest = middy.Request<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>;

/**
 * Per request: the correlation id (a sane `x-correlation-id` from the client, else API Gateway's
 * request id) on every log line and on the response; and the route's RED metrics (`Requests`,
 * `ClientErrors`, `ServerErrors`, `Latency`, dimension `route`), counted from the status the
 * client gets, so it runs after errors are mapped.
 */
function requestObservability(): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context> {
  const started = new WeakMap<object, { at: number; id: string }>();
  const answered = (request: HttpRequest) => {
    const begun = started.get(request.event);
    const response = request.response;
    if (!begun || !response) return;
    response.headers = { ...response.headers, [CORRELATION_HEADER]: begun.id };
    const status = response.statusCode;
    metrics.addDimension(MetricDimensions.route, routeIdOf(request.event));
    metrics.addMetric(Metrics.requests, MetricUnit.Count, 1);
    metrics.addMetric(Metrics.clientErrors, MetricUnit.Count, status >= 400 && status < 500 ? 1 : 0);
    metrics.addMetric(Metrics.serverErrors, MetricUnit.Count, status >= 500 ? 1 : 0);
    metrics.addMetric(Metrics.latency, MetricUnit.Milliseconds, performance.now() - begun.at);
  };
  return {
    before: (request) => {
      const event = request.event;
      const id = saneCorrelationId(headerOf(event, CORRELATION_HEADER)) ?? event.requestContext?.requestId ?? request.context.awsRequestId;
      started.set(event, { at: performance.now(), id });
      useCorrelationId(id);
      logger.appendKeys({ route: routeIdOf(event) });
    },
    after: answered,
    onError: answered,
  };
}

async function mapError(request: HttpRequest) {
  const error = request.error;
  // The id a client quotes is the one every log line of the request carries.
  const requestId = correlationId.get() ?? request.context?.awsRequestId;
  if (error instanceof AppError && error.statusCode < 500) {
    const body: ErrorBody = {
      error: { code: error.name, message: error.message, ...(error.details ? { details: error.details } : {}) },
    };
    request.response = respond(error.statusCode, body, error.headers);
    return;
  }
  const status = error instanceof AppError ? error.statusCode : 500;
  logger.error('request failed', { status, path: request.event?.path, error });
  const body: ErrorBody = {
    error: {
      code: status === 503 ? 'ServiceUnavailable' : 'InternalError',
      message:
        status === 503
          ? 'a dependency is temporarily unavailable; retry after the Retry-After delay'
          : `something went wrong on our side; quote request id ${requestId ?? 'unknown'} if it persists`,
    },
  };
  request.response = respond(status, body, error instanceof AppError ? error.headers : {});
}
