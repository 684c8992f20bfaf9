import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ErrorBody, StartUploadRequest } from '#contracts/api';
import { UnavailableError } from '#domain/errors';
import { handler as abortUpload } from '#handlers/api/abort-upload';
import { handler as getVideo } from '#handlers/api/get-video';
import { handler as startUpload } from '#handlers/api/start-upload';
import { logger } from '#handlers/shared/observability';
import { fakeUploads, type FakeUploads } from '../fakes/in-memory.ts';

// The unit project silences Powertools (see vitest.config.ts); the 500 test reads the error log.
vi.hoisted(() => {
  process.env['POWERTOOLS_LOG_LEVEL'] = 'ERROR';
});

/** The handlers' composition root, replaced by an `Uploads` on fakes (built fresh per test). */
let f: FakeUploads;
vi.mock('#composition/uploads', () => ({ deps: () => ({ uploads: f.uploads }), readDeps: () => ({ videos: f.queries }) }));

const USER = 'user-alice';
const REQUEST_ID = 'req-0c1d2e3f';

const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'start-upload',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:start-upload',
  memoryLimitInMB: '256',
  awsRequestId: REQUEST_ID,
  logGroupName: '/aws/lambda/start-upload',
  logStreamName: 'stream',
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

interface EventOptions {
  readonly body?: string | null;
  readonly pathParameters?: Record<string, string> | null;
  readonly headers?: Record<string, string>;
  readonly claims?: Record<string, string> | null;
}

/** An API Gateway REST event as the Cognito authorizer hands it on. */
function event({
  body = null,
  pathParameters = null,
  headers = { 'Content-Type': 'application/json' },
  claims = { sub: USER, email: 'alice@example.com' },
}: EventOptions = {}): APIGatewayProxyEvent {
  return {
    body,
    headers,
    multiValueHeaders: {},
    httpMethod: 'POST',
    isBase64Encoded: false,
    path: '/api/v1/videos/upload',
    pathParameters,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    resource: '/api/v1/videos/upload',
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      authorizer: claims === null ? undefined : { claims },
      protocol: 'HTTP/1.1',
      httpMethod: 'POST',
      identity: {} as APIGatewayProxyEvent['requestContext']['identity'],
      path: '/api/v1/videos/upload',
      stage: 'prod',
      requestId: REQUEST_ID,
      requestTimeEpoch: 0,
      resourceId: 'res',
      resourcePath: '/api/v1/videos/upload',
    },
  };
}

const startBody: StartUploadRequest = {
  title: 'Harbour at dusk',
  visibility: 'private',
  fileName: 'harbour.mp4',
  fileSize: 12 * 1024 * 1024,
  contentType: 'video/mp4',
};

const start = (body: unknown = startBody, options: EventOptions = {}) =>
  startUpload(event({ body: typeof body === 'string' ? body : JSON.stringify(body), ...options }), context);

const errorOf = (response: APIGatewayProxyResult) => (JSON.parse(response.body) as ErrorBody).error;

beforeEach(() => {
  f = fakeUploads();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the HTTP wrapper', () => {
  it('answers 201 with the session and its location on success', async () => {
    const response = await start();

    expect(response.statusCode).toBe(201);
    const session = JSON.parse(response.body);
    expect(session).toMatchObject({ status: 'pending_upload', partCount: 3 });
    expect(response.headers).toMatchObject({
      location: `/api/v1/videos/${session.id}`,
      'content-type': 'application/json; charset=utf-8',
    });
    expect((await f.videos.get(session.id))?.ownerId).toBe(USER);
  });

  it('answers 400 saying so when the body is not valid JSON', async () => {
    const response = await start('{"title": "Harbour",');

    expect(response.statusCode).toBe(400);
    expect(errorOf(response)).toMatchObject({ code: 'ValidationError', message: expect.stringMatching(/not valid JSON/) });
    expect(await f.videos.get('vid00000001')).toBeUndefined();
  });

  it('answers 400 when the body is missing', async () => {
    const response = await startUpload(event({ body: null }), context);

    expect(response.statusCode).toBe(400);
    expect(errorOf(response).message).toMatch(/JSON body/);
  });

  it('answers 400 when the body is not sent as JSON', async () => {
    const response = await start(startBody, { headers: { 'content-type': 'text/plain' } });

    expect(response.statusCode).toBe(400);
    expect(errorOf(response).message).toMatch(/application\/json.*text\/plain/);
  });

  it('answers 400 with one detail per bad field: missing, unknown and of the wrong type', async () => {
    const { title: _title, ...rest } = startBody;

    const response = await start({ ...rest, fileSize: 'twelve', colour: 'red' });

    expect(response.statusCode).toBe(400);
    const error = errorOf(response);
    expect(error.code).toBe('ValidationError');
    expect(error.details).toHaveLength(3);
    expect(error.details).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^title: is required/),
        expect.stringMatching(/^fileSize: must be number/),
        expect.stringMatching(/unknown field "colour"/),
      ]),
    );
    for (const detail of error.details ?? []) expect(error.message).toContain(detail);
    expect(await f.videos.get('vid00000001')).toBeUndefined();
  });

  it("answers 400 naming the field for a value the contract's rules refuse", async () => {
    const response = await start({ ...startBody, contentType: 'text/html', fileSize: -1 });

    expect(response.statusCode).toBe(400);
    expect(errorOf(response).details).toEqual(
      expect.arrayContaining([
        'contentType: contentType must be a video/* media type',
        'fileSize: fileSize must be positive',
      ]),
    );
  });

  it("passes on the contract's own message for a fractional fileSize", async () => {
    const response = await start({ ...startBody, fileSize: 1.5 });

    expect(response.statusCode).toBe(400);
    expect(errorOf(response).details).toEqual(['fileSize: fileSize must be a whole number of bytes']);
  });

  it('answers 400 naming a malformed path parameter', async () => {
    const response = await getVideo(event({ pathParameters: { id: 'not-an-id' } }), context);

    expect(response.statusCode).toBe(400);
    expect(errorOf(response).details).toEqual([expect.stringMatching(/^id: video id must be 11 characters/)]);
  });

  it('answers 401 when the request carries no claims', async () => {
    const response = await start(startBody, { claims: null });

    expect(response.statusCode).toBe(401);
    expect(errorOf(response)).toMatchObject({ code: 'UnauthorizedError', message: expect.stringMatching(/sign in/) });
    expect(await f.videos.get('vid00000001')).toBeUndefined();
  });

  it('answers 401 when the claims name no user', async () => {
    const response = await start(startBody, { claims: { email: 'alice@example.com' } });

    expect(response.statusCode).toBe(401);
  });

  it('answers a domain error with its status, name and message', async () => {
    const tooLarge = await start({ ...startBody, fileSize: 65 * 1024 * 1024 });
    expect(tooLarge.statusCode).toBe(413);
    expect(errorOf(tooLarge)).toEqual({
      code: 'PayloadTooLargeError',
      message: expect.stringMatching(/^fileSize 68157440 exceeds the upload limit/),
    });

    const missing = await getVideo(event({ pathParameters: { id: 'vid99999999' } }), context);
    expect(missing.statusCode).toBe(404);
    expect(errorOf(missing)).toEqual({ code: 'NotFoundError', message: 'no video vid99999999' });
  });

  it('answers 409 with the message when an action conflicts with the video state', async () => {
    const session = JSON.parse((await start()).body);
    await f.videos.transition(session.id, ['pending_upload'], 'uploaded');

    const response = await abortUpload(event({ pathParameters: { id: session.id } }), context);

    expect(response.statusCode).toBe(409);
    expect(errorOf(response)).toMatchObject({ code: 'ConflictError', message: expect.stringMatching(/already complete/) });
  });

  it('answers 429 with Retry-After once the user has started too many uploads', async () => {
    for (let i = 0; i < 5; i++) expect((await start()).statusCode).toBe(201);
    f.clock.advance({ seconds: 900 });

    const response = await start();

    expect(response.statusCode).toBe(429);
    expect(response.headers?.['Retry-After']).toBe('2700');
    expect(errorOf(response)).toMatchObject({ code: 'RateLimitedError', message: expect.stringMatching(/2700 s/) });
  });

  it('answers 500 with a generic message that reveals nothing of an unexpected error', async () => {
    const log = vi.spyOn((logger as unknown as { console: Console }).console, 'error').mockImplementation(() => undefined);
    const secret = 'arn:aws:dynamodb:eu-west-1:123456789012:table/videos-7f3a exploded';
    vi.spyOn(f.videos, 'create').mockRejectedValue(new TypeError(secret));

    const response = await start();

    expect(response.statusCode).toBe(500);
    expect(errorOf(response)).toEqual({ code: 'InternalError', message: expect.stringContaining(REQUEST_ID) });
    expect(response.body).not.toMatch(/arn:aws|exploded|TypeError|stack|\bat \S+ \(|\.ts:\d+/);
    expect(response.headers).not.toHaveProperty('Retry-After');
    // The details go to the log instead, against the request id.
    expect(log).toHaveBeenCalledOnce();
    expect(String(log.mock.calls[0]?.[0])).toMatch(new RegExp(`${REQUEST_ID}.*exploded`));
  });

  it('answers 503 with Retry-After and a generic message when a dependency is unavailable', async () => {
    vi.spyOn((logger as unknown as { console: Console }).console, 'error').mockImplementation(() => undefined);
    vi.spyOn(f.videos, 'create').mockRejectedValue(
      new UnavailableError('the video table is temporarily unavailable; retry shortly', {
        cause: new Error('ProvisionedThroughputExceededException on table videos-7f3a'),
      }),
    );

    const response = await start();

    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('5');
    expect(errorOf(response).code).toBe('ServiceUnavailable');
    expect(response.body).not.toMatch(/videos-7f3a|Provisioned|video table/);
  });
});
