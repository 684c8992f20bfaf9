import { FailTask } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';
import { failureFrom } from '#domain/pipeline';
import { log } from '../shared/log.ts';

/** Fail: the video becomes `failed` with a reason the creator can act on; partial outputs go. */
export const handler = async (event: unknown): Promise<{ status: 'failed' }> => {
  const task = FailTask.parse(event);
  const failure = failureFrom(task.error);
  log.warn('transcode failed', { videoId: task.videoId, generation: task.generation, error: task.error.Error, failure });
  await pipelineDeps().pipeline.fail(task.videoId, task.generation, failure);
  return { status: 'failed' };
};
