import { readFile } from 'node:fs/promises';
import type { ApiClient } from './api.ts';

/** Uploads a local file through the API flow (start, PUT every part, complete); returns the id. */
export async function uploadFile(
  client: ApiClient,
  path: string,
  meta: { title?: string; visibility?: string; contentType?: string; fileName?: string } = {},
): Promise<string> {
  const file = await readFile(path);
  const start = await client.request('POST', '/api/v1/videos/upload', {
    title: meta.title ?? 'Test clip',
    visibility: meta.visibility ?? 'private',
    fileName: meta.fileName ?? 'clip.mp4',
    fileSize: file.length,
    contentType: meta.contentType ?? 'video/mp4',
  });
  if (start.status !== 201) throw new Error(`start failed: ${start.status} ${JSON.stringify(start.body)}`);
  const parts = await Promise.all(
    start.body.parts.map(async (part: { partNumber: number; size: number; url: string }) => {
      const from = (part.partNumber - 1) * start.body.partSize;
      const response = await fetch(part.url, { method: 'PUT', body: file.subarray(from, from + part.size) });
      if (response.status !== 200) throw new Error(`part ${part.partNumber}: ${response.status}`);
      return { partNumber: part.partNumber, etag: response.headers.get('etag') };
    }),
  );
  const complete = await client.request('POST', `/api/v1/videos/${start.body.id}/upload/complete`, { parts });
  if (complete.status !== 200) throw new Error(`complete failed: ${complete.status} ${JSON.stringify(complete.body)}`);
  return start.body.id;
}

/** Polls the status until the video is `ready` or `failed`; records every progress value seen. */
export async function waitForOutcome(client: ApiClient, id: string, timeoutMs = 240_000) {
  const seen: number[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { body } = await client.request('GET', `/api/v1/videos/${id}/status`);
    seen.push(body.progress);
    if (body.status === 'ready' || body.status === 'failed') return { ...body, progressSeen: seen };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`video ${id} not finished within ${timeoutMs} ms`);
}
