import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE } from '#contracts/metrics';
import { handler as getVideo } from '#handlers/api/get-video';
import { handler as startUpload } from '#handlers/api/start-upload';
import { logger, metrics } from '#handlers/shared/observability';
import { fakeUploads, type FakeUploads } from '../fakes/in-memory.ts';

// The unit project silences Powertools (see vitest.config.ts); these tests read its output.
vi.hoisted(() => {
  process.env['POWERTOOLS_LOG_LEVEL'] = 'INFO';
  process.env['POWERTOOLS_METRICS_DISABLED'] = 'false';
});

let f: FakeUploads;
vi.mock('#composition/uploads', () => ({ deps: () => ({ uploads: f.uploads }), readDeps: () => ({ videos: f.queries }) }));
vi.mock('#composition/playback', () => ({ idTokenVerifier: () => ({ verify: async () => undefined }) }));

const API_REQUEST_ID = 'c0ffee00-1111-2222-3333-444455556666';
const context = { functionName: 'start-upload', awsRequestId: 'lambda-req-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

function event(options: { body?: unknown; headers?: Record<string, string>; resource?: string; method?: string; pathParameters?: Record<string, string> } = {}): APIGatewayProxyEvent {
  const resource = options.resource ?? '/api/v1/videos/upload';
  const method = options.method ?? 'POST';
  return {
    body: options.body === undefined ? null : JSON.stringify(options.body),
    headers: { 'content-type': 'application/json', ...options.headers },
    multiValueHeaders: {},
    httpMethod: method,
    isBase64Encoded: false,
    path: resource,
    pathParameters: options.pathParameters ?? null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    resource,
    requestContext: { authorizer: { claims: { sub: 'user-alice' } }, requestId: API_REQUEST_ID, resourcePath: resource, httpMethod: method } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

const startBody = { title: 'Harbour', visibility: 'private', fileName: 'h.mp4', fileSize: 12 * 1024 * 1024, contentType: 'video/mp4' };

/** What Powertools printed during the test: JSON log lines and EMF metric lines. */
let logs: Record<string, any>[];
let emf: Record<string, any>[];

beforeEach(() => {
  f = fakeUploads();
  logs = [];
  emf = [];
  const loggerConsole = (logger as unknown as { console: Console }).console;
  for (const method of ['debug', 'info', 'warn', 'error'] as const) {
    vi.spyOn(loggerConsole, method).mockImplementation((line: string) => void logs.push(JSON.parse(line)));
  }
  vi.spyOn((metrics as unknown as { console: Console }).console, 'log').mockImplementation((line: string) => void emf.push(JSON.parse(line)));
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** The one EMF line of the request, with its declared dimensions and metric names. */
function redOf(line: Record<string, any> | undefined) {
  const directive = line?.['_aws'].CloudWatchMetrics[0];
  return {
    namespace: directive.Namespace,
    dimensions: directive.Dimensions,
    names: directive.Metrics.map((m: { Name: string }) => m.Name),
    route: line?.['route'],
    requests: line?.['Requests'],
    clientErrors: line?.['ClientErrors'],
    serverErrors: line?.['ServerErrors'],
    latency: line?.['Latency'],
  };
}

describe('correlation ids through the HTTP wrapper', () => {
  it("uses API Gateway's request id when the client sends none, and returns it", async () => {
    const response = await startUpload(event({ body: startBody }), context);

    expect(response.statusCode).toBe(201);
    expect(response.headers?.['x-correlation-id']).toBe(API_REQUEST_ID);
  });

  it("keeps a client's sane x-correlation-id, returns it, and logs it on every line of the request", async () => {
    vi.spyOn(f.videos, 'create').mockRejectedValue(new TypeError('boom'));

    const response = await startUpload(event({ body: startBody, headers: { 'X-Correlation-Id': 'web.upload-42_a' } }), context);

    expect(response.statusCode).toBe(500);
    expect(response.headers?.['x-correlation-id']).toBe('web.upload-42_a');
    expect(JSON.parse(response.body).error.message).toContain('web.upload-42_a');
    expect(logs.length).toBeGreaterThan(0);
    for (const line of logs) expect(line).toMatchObject({ correlationId: 'web.upload-42_a', route: 'StartUpload', function_request_id: 'lambda-req-1' });
    expect(logs.find((l) => l['level'] === 'ERROR')).toMatchObject({ message: 'request failed', error: { name: 'TypeError', message: 'boom' } });
  });

  it('ignores a client id that is too long or not a plain token', async () => {
    for (const bad of ['x'.repeat(65), 'a b', '<script>', 'id\nInjected: 1']) {
      const response = await startUpload(event({ body: startBody, headers: { 'x-correlation-id': bad } }), context);
      expect(response.headers?.['x-correlation-id'], bad).toBe(API_REQUEST_ID);
    }
  });

  it('does not carry one request id over to the next request', async () => {
    await startUpload(event({ body: startBody, headers: { 'x-correlation-id': 'first-request' } }), context);
    logs = [];
    vi.spyOn(f.videos, 'create').mockRejectedValue(new TypeError('boom'));

    await startUpload(event({ body: startBody }), context);

    expect(logs.map((l) => l['correlationId'])).toEqual([API_REQUEST_ID]);
  });
});

describe('RED metrics per route', () => {
  it('counts a success: one request, no errors, its latency, under the route dimension only', async () => {
    await startUpload(event({ body: startBody }), context);

    expect(emf).toHaveLength(1);
    const red = redOf(emf[0]);
    expect(red).toMatchObject({ namespace: METRICS_NAMESPACE, dimensions: [['route']], route: 'StartUpload', requests: 1, clientErrors: 0, serverErrors: 0 });
    expect(red.names).toEqual(['Requests', 'ClientErrors', 'ServerErrors', 'Latency']);
    expect(red.latency).toBeGreaterThanOrEqual(0);
  });

  it('counts a 400 as a client error of its route', async () => {
    const response = await startUpload(event({ body: { ...startBody, fileSize: 'big' } }), context);

    expect(response.statusCode).toBe(400);
    expect(redOf(emf[0])).toMatchObject({ route: 'StartUpload', requests: 1, clientErrors: 1, serverErrors: 0 });
  });

  it('counts a 404 of another route under that route', async () => {
    const response = await getVideo(event({ resource: '/api/v1/videos/{id}', method: 'GET', pathParameters: { id: 'vid99999999' } }), context);

    expect(response.statusCode).toBe(404);
    expect(redOf(emf[0])).toMatchObject({ route: 'GetVideo', requests: 1, clientErrors: 1, serverErrors: 0 });
  });

  it('counts a 500 as a server error', async () => {
    vi.spyOn(f.videos, 'create').mockRejectedValue(new TypeError('boom'));

    const response = await startUpload(event({ body: startBody }), context);

    expect(response.statusCode).toBe(500);
    expect(redOf(emf[0])).toMatchObject({ route: 'StartUpload', requests: 1, clientErrors: 0, serverErrors: 1 });
  });
});
