import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { checkHealth, type DependencyProbe } from '#domain/health';
import { handler } from '#handlers/api/get-health';

let probes: DependencyProbe[] = [];
vi.mock('#composition/health', () => ({ healthProbes: () => probes }));

const up = (name: string): DependencyProbe => ({ name, check: async () => undefined });
const down = (name: string, error: Error): DependencyProbe => ({
  name,
  check: async () => {
    throw error;
  },
});
const named = (name: string, message: string) => Object.assign(new Error(message), { name });

const event = { resource: '/api/v1/health', httpMethod: 'GET', headers: {}, requestContext: { requestId: 'req-h' } } as unknown as APIGatewayProxyEvent;

describe('health', () => {
  it('is ok when every dependency answers, with each one timed', async () => {
    // Both checks start before either ends: starts at 4 and 8, ends at 12 and 16.
    let t = 0;
    const report = await checkHealth([up('table'), up('rawBucket')], { now: () => (t += 4) });

    expect(report.status).toBe('ok');
    expect(report.dependencies).toEqual([
      { name: 'table', ok: true, latencyMs: 8 },
      { name: 'rawBucket', ok: true, latencyMs: 8 },
    ]);
  });

  it('is degraded naming the dependency that is down, by error name only', async () => {
    const report = await checkHealth([up('table'), down('userPool', named('ResourceNotFoundException', 'pool us-east-1_abc of account 1234 not found'))]);

    expect(report.status).toBe('degraded');
    expect(report.dependencies.find((d) => d.name === 'userPool')).toMatchObject({ ok: false, error: 'ResourceNotFoundException' });
    expect(JSON.stringify(report)).not.toMatch(/us-east-1_abc|1234/);
    expect(report.dependencies.find((d) => d.name === 'table')?.ok).toBe(true);
  });

  it('reports a dependency that does not answer in time as a TimeoutError, without waiting for it', async () => {
    const hung: DependencyProbe = { name: 'workflow', check: () => new Promise(() => undefined) };

    const started = Date.now();
    const report = await checkHealth([hung, up('table')], { timeoutMs: 50 });

    expect(Date.now() - started).toBeLessThan(1000);
    expect(report.dependencies[0]).toMatchObject({ name: 'workflow', ok: false, error: 'TimeoutError' });
  });

  it('answers 200 when all are ok, and 503 with Retry-After naming the one that is down', async () => {
    probes = [up('table'), up('searchIndex')];
    const ok = await handler(event, {} as never);
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ status: 'ok' });

    probes = [up('table'), down('searchIndex', named('NoSuchBucket', 'gone'))];
    const degraded = await handler(event, {} as never);
    expect(degraded.statusCode).toBe(503);
    expect(degraded.headers?.['Retry-After']).toBe('5');
    const body = JSON.parse(degraded.body);
    expect(body.status).toBe('degraded');
    expect(body.dependencies.filter((d: { ok: boolean }) => !d.ok).map((d: { name: string }) => d.name)).toEqual(['searchIndex']);
  });
});
