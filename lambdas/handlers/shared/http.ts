import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { z, type ZodType } from 'zod';
import type { ErrorBody } from '#contracts/api';
import { AppError, UnauthorizedError, ValidationError } from '#domain/errors';

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
 * domain errors to statuses, and never lets a stack trace reach a client.
 */
export function httpHandler<B = undefined, P = undefined, Q = undefined>(
  schemas: Schemas<B, P, Q>,
  fn: (input: HttpInput<B, P, Q>, event: APIGatewayProxyEvent) => Promise<HttpOutput>,
) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
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

async function mapError(request: middy.Request<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>) {
  const error = request.error;
  const requestId = request.context?.awsRequestId;
  if (error instanceof AppError && error.statusCode < 500) {
    const body: ErrorBody = {
      error: { code: error.name, message: error.message, ...(error.details ? { details: error.details } : {}) },
    };
    request.response = respond(error.statusCode, body, error.headers);
    return;
  }
  const status = error instanceof AppError ? error.statusCode : 500;
  console.error(
    JSON.stringify({
      level: 'ERROR',
      message: 'request failed',
      requestId,
      path: request.event?.path,
      error: { name: error?.name, message: error?.message, stack: error?.stack, cause: String(error?.cause ?? '') },
    }),
  );
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
