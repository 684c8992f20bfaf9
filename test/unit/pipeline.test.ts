import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '#domain/errors';
import { failureFrom, Pipeline } from '#domain/pipeline';
import type { Video } from '#domain/video';
import { FakeClock, InMemoryMediaStore, InMemoryVideoRepository, InMemoryWorkflowStarter } from '../fakes/in-memory.ts';

const ID = 'vid00000001';

function video(overrides: Partial<Video> = {}): Video {
  return {
    id: ID,
    ownerId: 'owner-1',
    title: 't',
    description: '',
    tags: [],
    visibility: 'private',
    status: 'uploaded',
    fileName: 'a.mp4',
    fileSize: 10,
    contentType: 'video/mp4',
    rawKey: `uploads/${ID}/source`,
    uploadId: 'u',
    partSize: 5 * 1024 * 1024,
    generation: 1,
    version: 1,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

describe('Pipeline', () => {
  let clock: FakeClock;
  let videos: InMemoryVideoRepository;
  let workflow: InMemoryWorkflowStarter;
  let media: InMemoryMediaStore;
  let pipeline: Pipeline;
  beforeEach(() => {
    clock = new FakeClock('2025-01-01T00:00:00.000Z');
    videos = new InMemoryVideoRepository(clock);
    workflow = new InMemoryWorkflowStarter();
    media = new InMemoryMediaStore();
    pipeline = new Pipeline({ videos, workflow, media, clock, stuckAfterMinutes: 30, maxRestarts: 3 });
  });

  it('starts the workflow for an uploaded source, and ignores other keys and other statuses', async () => {
    videos.seed(video());
    expect(await pipeline.sourceStored(`uploads/${ID}/source`)).toBe('started');
    expect(await pipeline.sourceStored(`uploads/${ID}/source`)).toBe('duplicate');
    expect(await pipeline.sourceStored('uploads/../etc/passwd')).toBe('ignored');
    videos.seed(video({ status: 'pending_upload' }));
    expect(await pipeline.sourceStored(`uploads/${ID}/source`)).toBe('ignored');
    expect(workflow.executions).toEqual([`${ID}-g1`]);
  });

  it('starts the run under the correlation id of the request that completed the upload', async () => {
    videos.seed(video({ correlationId: 'req-complete-9' }));
    expect(await pipeline.sourceStored(`uploads/${ID}/source`)).toBe('started');
    expect(workflow.correlationIds.get(`${ID}-g1`)).toBe('req-complete-9');
  });

  it('claims once per generation; a retried claim of the same generation succeeds, a stale one does not', async () => {
    videos.seed(video());
    expect((await pipeline.claim(ID, 1)).status).toBe('processing');
    expect((await pipeline.claim(ID, 1)).status).toBe('processing');
    await expect(pipeline.claim(ID, 2)).rejects.toBeInstanceOf(ConflictError);
  });

  it('fails a video with the reason and removes its outputs; a stale generation changes nothing', async () => {
    videos.seed(video({ status: 'processing', generation: 2 }));
    media.keys.add(`videos/${ID}/media/720p/c0000-s000.m4s`);
    media.keys.add('videos/other/keep.m4s');
    await pipeline.fail(ID, 1, { code: 'X', message: 'old run' });
    expect((await videos.get(ID))?.status).toBe('processing');
    expect(media.keys.size).toBe(2);
    await pipeline.fail(ID, 2, { code: 'NotAVideo', message: 'not a video' });
    expect(await videos.get(ID)).toMatchObject({ status: 'failed', failure: { code: 'NotAVideo' } });
    expect([...media.keys]).toEqual(['videos/other/keep.m4s']);
  });

  describe('sweep', () => {
    const stale = () => clock.advance({ seconds: 31 * 60 });

    it('leaves fresh videos and running executions alone', async () => {
      videos.seed(video());
      expect(await pipeline.sweep()).toMatchObject({ checked: 0 });
      await workflow.start(ID, 1);
      stale();
      expect(await pipeline.sweep()).toEqual({ checked: 1, started: 0, restarted: 0, failed: 0 });
    });

    it('starts an uploaded video whose execution never started', async () => {
      videos.seed(video());
      stale();
      expect(await pipeline.sweep()).toMatchObject({ started: 1 });
      expect(workflow.executions).toEqual([`${ID}-g1`]);
    });

    it('restarts a video whose run died without a verdict under the next generation', async () => {
      videos.seed(video({ status: 'processing' }));
      workflow.states.set(`${ID}-g1`, 'ABORTED');
      stale();
      expect(await pipeline.sweep()).toMatchObject({ restarted: 1 });
      expect(await videos.get(ID)).toMatchObject({ status: 'uploaded', generation: 2 });
      expect(workflow.executions).toEqual([`${ID}-g2`]);
    });

    it('restarts a video whose run failed without recording why (its Fail step could not write)', async () => {
      videos.seed(video({ status: 'processing' }));
      workflow.states.set(`${ID}-g1`, 'FAILED');
      stale();
      expect(await pipeline.sweep()).toMatchObject({ restarted: 1 });
      expect(await videos.get(ID)).toMatchObject({ status: 'uploaded', generation: 2 });
      expect(workflow.executions).toEqual([`${ID}-g2`]);
    });

    it('fails a video once its restarts are used up', async () => {
      videos.seed(video({ status: 'processing', generation: 4 }));
      workflow.states.set(`${ID}-g4`, 'TIMED_OUT');
      stale();
      expect(await pipeline.sweep()).toMatchObject({ failed: 1 });
      expect(await videos.get(ID)).toMatchObject({ status: 'failed', failure: { code: 'ProcessingStuck' } });
    });
  });
});

describe('failureFrom', () => {
  it('reads the media code from a Lambda error (JSON cause, as on AWS) and from a plain message (local)', () => {
    const aws = { Error: 'InvalidMediaError', Cause: JSON.stringify({ errorType: 'InvalidMediaError', errorMessage: 'TooLong: 10 h is over 4 h' }) };
    expect(failureFrom(aws)).toEqual({ code: 'TooLong', message: '10 h is over 4 h' });
    expect(failureFrom({ Error: 'InvalidMediaError', Cause: 'Corrupt: cut short' })).toEqual({ code: 'Corrupt', message: 'cut short' });
  });

  it('never shows an internal error to the creator', () => {
    const failure = failureFrom({ Error: 'TypeError', Cause: 'Cannot read properties of undefined (reading "x") at /var/task/index.mjs' });
    expect(failure.code).toBe('ProcessingError');
    expect(failure.message).not.toMatch(/undefined|var\/task/);
    expect(failureFrom({ Error: 'States.Timeout' }).code).toBe('ProcessingTimeout');
  });
});
