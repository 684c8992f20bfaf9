import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { UploadSession, VideoStatusView } from '#contracts/api';
import { ffmpegBinaries } from './binaries.ts';
import type { PlatformInfo } from './platform.ts';
import { signUpAndSignIn } from './users.ts';

const run = promisify(execFile);

/** The demo account `npm start` creates on first run (local mode only; printed on start). */
export const DEMO_ACCOUNT = { email: 'demo@vodstack.local', password: 'Demo-Vodstack-2026!' } as const;

export interface DemoState {
  readonly email: string;
  readonly password: string;
  videoId?: string;
  status?: 'seeding' | 'ready' | 'failed';
}

export function demoFile(dataDir: string): string {
  return join(dataDir, 'demo.json');
}

export function readDemo(dataDir: string): DemoState | undefined {
  const file = demoFile(dataDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DemoState) : undefined;
}

/**
 * Seeds a demo account and one public sample video through the real API (sign-up, upload,
 * transcode), once per data folder, so a newcomer's first page has something to play. Safe to
 * call on every start: a finished seed is kept; an interrupted one is redone.
 */
export async function seedDemo(platform: PlatformInfo, dataDir: string, log: (line: string) => void): Promise<DemoState> {
  const existing = readDemo(dataDir);
  if (existing?.status === 'ready' && existing.videoId) return existing;
  const state: DemoState = { email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password, status: 'seeding' };
  const save = () => writeFileSync(demoFile(dataDir), JSON.stringify(state, null, 2));
  save();

  const tokens = await signUpAndSignIn(
    { cognitoEndpoint: platform.cognitoEndpoint, userPoolId: platform.userPoolId, clientId: platform.clientId },
    DEMO_ACCOUNT.email,
    DEMO_ACCOUNT.password,
  );
  const work = join(dataDir, 'demo-work');
  mkdirSync(work, { recursive: true });
  const clip = join(work, 'sample.mp4');
  const { FFMPEG_PATH: ffmpeg } = ffmpegBinaries() as { FFMPEG_PATH: string };
  // 30 s of 1280×720 test pattern with a tone: enough for a 4-rung ladder and a storyboard.
  await run(ffmpeg, [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000',
    '-t', '30', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', clip,
  ]);
  const bytes = await readFile(clip);

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${platform.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${tokens.idToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const session = await api<UploadSession>('POST', '/api/v1/videos/upload', {
    title: 'Welcome to vodstack',
    description: 'A generated sample: a moving test pattern with a tone, transcoded into an adaptive HLS/DASH ladder by the local pipeline.',
    tags: ['demo', 'sample'],
    visibility: 'public',
    fileName: 'sample.mp4',
    fileSize: bytes.length,
    contentType: 'video/mp4',
  });
  state.videoId = session.id;
  save();
  const parts = [];
  for (const part of session.parts) {
    const start = (part.partNumber - 1) * session.partSize;
    const response = await fetch(part.url, { method: 'PUT', body: bytes.subarray(start, start + part.size) });
    if (!response.ok) throw new Error(`part ${part.partNumber}: ${response.status} ${await response.text()}`);
    parts.push({ partNumber: part.partNumber, etag: response.headers.get('etag') ?? '' });
  }
  await api('POST', `/api/v1/videos/${session.id}/upload/complete`, { parts });
  await rm(work, { recursive: true, force: true });

  for (;;) {
    const status = await api<VideoStatusView>('GET', `/api/v1/videos/${session.id}/status`);
    if (status.status === 'ready' || status.status === 'failed') {
      state.status = status.status;
      save();
      if (status.status === 'failed') log(`demo video failed: ${status.failure?.message ?? 'unknown reason'}`);
      return state;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
