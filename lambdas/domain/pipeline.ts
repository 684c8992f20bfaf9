import { MediaLayout } from '#contracts/workflow';
import { ConflictError, NotFoundError } from './errors.ts';
import type { Clock, ExecutionState, MediaStore, VideoRepository, WorkflowStarter } from './ports.ts';
import type { PublishedMedia, Video } from './video.ts';

export interface PipelineDeps {
  readonly videos: VideoRepository;
  readonly workflow: WorkflowStarter;
  readonly media: MediaStore;
  readonly clock: Clock;
  /** A video `uploaded` or `processing` without an update for this long is looked at by the sweeper. */
  readonly stuckAfterMinutes: number;
  /** How many times the sweeper restarts a video before it fails it. */
  readonly maxRestarts: number;
}

/** The raw-bucket key of a source, `uploads/<id>/source`; anything else is not ours to start. */
const SOURCE_KEY = /^uploads\/([A-Za-z0-9_-]{11})\/source$/;

/** A failure as the creator sees it. */
export interface Failure {
  readonly code: string;
  readonly message: string;
}

/**
 * The pipeline's rules around the workflow: who may start it, the claim that makes a run
 * exclusive, progress, publishing, failing, and the sweeper that makes sure nothing is lost.
 * Every state change is conditional on the video's status and generation, so a stale or
 * duplicated execution can never overwrite a newer one.
 */
export class Pipeline {
  constructor(private readonly deps: PipelineDeps) {}

  /** A source object landed in the raw bucket: start its workflow (a no-op if the API did). */
  async sourceStored(key: string): Promise<'started' | 'duplicate' | 'ignored'> {
    const id = SOURCE_KEY.exec(key)?.[1];
    if (!id) return 'ignored';
    const video = await this.deps.videos.get(id);
    if (!video || video.status !== 'uploaded') return 'ignored';
    const { started } = await this.deps.workflow.start(video.id, video.generation, video.correlationId);
    return started ? 'started' : 'duplicate';
  }

  /**
   * `uploaded → processing` for this generation. A retried claim of the same generation (the
   * first attempt's answer was lost) succeeds again; anything else is a `ConflictError`.
   */
  async claim(videoId: string, generation: number): Promise<Video> {
    try {
      return await this.deps.videos.transition(videoId, ['uploaded'], 'processing', {}, { generation });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const video = await this.deps.videos.get(videoId);
      if (video?.status === 'processing' && video.generation === generation) return video;
      throw new ConflictError(
        `video ${videoId} generation ${generation} cannot be claimed (it is ${video?.status ?? 'gone'}, generation ${video?.generation ?? '-'})`,
        { cause: error },
      );
    }
  }

  async chunkDone(videoId: string, generation: number, index: number, total: number): Promise<void> {
    await this.deps.videos.recordChunkDone(videoId, generation, index, total);
  }

  /**
   * `processing → ready` with what the run made, for this generation only. A video deleted
   * meanwhile is not brought back: the write fails with `NotFoundError`, which the workflow
   * catches into Fail, which removes the run's outputs.
   */
  async publish(videoId: string, generation: number, media: PublishedMedia): Promise<Video> {
    return this.deps.videos.transition(videoId, ['processing'], 'ready', { media }, { generation });
  }

  /**
   * Marks the video failed with a reason the creator can act on, and removes whatever the run
   * wrote, so a rejected video leaves nothing behind. A run of an older generation changes nothing.
   * A video deleted while its run went on stays deleted (the write is conditional on the item),
   * and what the run wrote after the deletion's own sweep is removed here.
   */
  async fail(videoId: string, generation: number, failure: Failure): Promise<void> {
    try {
      await this.deps.videos.transition(videoId, ['uploaded', 'processing'], 'failed', { failure }, { generation });
    } catch (error) {
      if (error instanceof ConflictError) return;
      if (!(error instanceof NotFoundError)) throw error;
    }
    await this.deps.media.removePrefix(MediaLayout.prefix(videoId));
  }

  /**
   * Finds videos stuck in `uploaded`/`processing` and moves each on: start it if its execution
   * never started, leave it if it is still running, restart it under a new generation if its run
   * ended without a verdict (crash, timeout, local restart, a failure its Fail step could not
   * record), and fail it once restarts run out.
   */
  async sweep(): Promise<{ checked: number; started: number; restarted: number; failed: number }> {
    const { videos, workflow, clock } = this.deps;
    const before = new Date(clock.now().getTime() - this.deps.stuckAfterMinutes * 60_000);
    const stale = await videos.findStale(['uploaded', 'processing'], before);
    const counts = { checked: stale.length, started: 0, restarted: 0, failed: 0 };
    for (const video of stale) {
      const state: ExecutionState = await workflow.describe(video.id, video.generation);
      if (state === 'RUNNING') continue;
      if (state === 'NONE' && video.status === 'uploaded') {
        if ((await workflow.start(video.id, video.generation, video.correlationId)).started) counts.started++;
        continue;
      }
      if (state === 'SUCCEEDED') continue; // Publish recorded `ready`
      // FAILED with the video still in flight at this generation: the run's Fail step could not
      // record a verdict (the table was down, or the run broke outside any Catch), so, like a
      // crashed run, it is restarted; a permanent problem is recorded by the next run's Fail step.
      if (video.generation > this.deps.maxRestarts) {
        await this.fail(video.id, video.generation, {
          code: 'ProcessingStuck',
          message: `processing did not finish after ${this.deps.maxRestarts} attempts; upload the video again`,
        });
        counts.failed++;
        continue;
      }
      try {
        const next = await videos.transition(video.id, [video.status], 'uploaded', { generation: video.generation + 1 }, { generation: video.generation });
        await workflow.start(next.id, next.generation, next.correlationId);
        counts.restarted++;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error; // it moved on meanwhile: nothing to do
      }
    }
    return counts;
  }
}

/**
 * Turns the error a workflow caught into `{code, message}`. On AWS, `Cause` is the Lambda's JSON
 * error (`{errorType, errorMessage}`); locally it is the message. Media errors carry their code as
 * a `Code: message` prefix; anything unexpected becomes a generic, safe message.
 */
export function failureFrom(error: { Error: string; Cause?: string | undefined }): Failure {
  let message = error.Cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // not JSON: the message itself
  }
  if (error.Error === 'InvalidMediaError') {
    const coded = /^([A-Z][A-Za-z]+): ([\s\S]*)$/.exec(message);
    return coded ? { code: coded[1]!, message: coded[2]! } : { code: 'InvalidMedia', message };
  }
  if (error.Error === 'States.Timeout') {
    return { code: 'ProcessingTimeout', message: 'processing took too long and was stopped; try again or upload a shorter video' };
  }
  return { code: 'ProcessingError', message: 'processing failed on our side; try uploading the video again' };
}
