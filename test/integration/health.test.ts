import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, inject, it } from 'vitest';
import { executionName } from '#contracts/workflow';
import { ApiClient } from '../support/api.ts';
import { localSfn } from '../support/clients.ts';
import { makeClip } from '../support/media.ts';
import { waitForOutcome } from '../support/upload.ts';

const platform = inject('platform');

describe('observability on the local platform', () => {
  it('reports every stand-in the API uses as ok, each timed', async () => {
    const response = await fetch(`${platform.apiUrl}/api/v1/health`, { headers: { 'x-correlation-id': 'health-check-1' } });
    const body = (await response.json()) as { status: string; dependencies: { name: string; ok: boolean; latencyMs: number; error?: string }[] };

    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(response.headers.get('x-correlation-id')).toBe('health-check-1');
    expect(body.status).toBe('ok');
    expect(body.dependencies.map((d) => d.name).sort()).toEqual(
      ['cursorKey', 'mediaBucket', 'playbackKey', 'rawBucket', 'searchIndex', 'table', 'userPool', 'workflow'].sort(),
    );
    for (const dependency of body.dependencies) {
      expect(dependency, dependency.name).toMatchObject({ ok: true, latencyMs: expect.any(Number) });
    }
  });

  it('carries the correlation id sent to complete-upload into the execution and through its tasks', async () => {
    const client = await ApiClient.signUp(platform, 'correlation');
    const clip = join(mkdtempSync(join(tmpdir(), 'vodstack-health-')), 'clip.mp4');
    await makeClip(clip, { width: 256, height: 144, seconds: 2 });
    const file = await readFile(clip);
    const start = await client.request('POST', '/api/v1/videos/upload', {
      title: 'Correlated',
      visibility: 'private',
      fileName: 'clip.mp4',
      fileSize: file.length,
      contentType: 'video/mp4',
    });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const parts = await Promise.all(
      start.body.parts.map(async (part: { partNumber: number; size: number; url: string }) => {
        const from = (part.partNumber - 1) * start.body.partSize;
        const put = await fetch(part.url, { method: 'PUT', body: file.subarray(from, from + part.size) });
        return { partNumber: part.partNumber, etag: put.headers.get('etag') };
      }),
    );

    const complete = await client.request('POST', `/api/v1/videos/${start.body.id}/upload/complete`, { parts }, { headers: { 'x-correlation-id': 'it-upload-7' } });

    expect(complete.status, JSON.stringify(complete.body)).toBe(200);
    expect(complete.headers.get('x-correlation-id')).toBe('it-upload-7');
    const outcome = await waitForOutcome(client, start.body.id, 180_000);
    expect(outcome.status, JSON.stringify(outcome)).toBe('ready');
    const executionArn = `${platform.workflowArn.replace(':stateMachine:', ':execution:')}:${executionName(start.body.id, 1)}`;
    const execution = await localSfn(platform).send(new DescribeExecutionCommand({ executionArn }));
    expect(JSON.parse(execution.input!)).toMatchObject({ videoId: start.body.id, generation: 1, correlationId: 'it-upload-7' });
    // Claim puts it in the state every later task receives; it is still there at the end.
    expect(JSON.parse(execution.output!)).toMatchObject({ correlationId: 'it-upload-7', processingSince: expect.any(String) });
  }, 240_000);
});
