import { Metrics } from '#contracts/metrics';
import { FailTask } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';
import { failureFrom } from '#domain/pipeline';
import { log } from '../shared/log.ts';
import { countMetric } from '../shared/observability.ts';
import { workflowTask } from '../shared/task.ts';

/** Fail: the video becomes `failed` with a reason the creator can act on; partial outputs go. */
export const handler = workflowTask(async (event: unknown): Promise<{ status: 'failed' }> => {
  const task = FailTask.parse(event);
  const failure = failureFrom(task.error);
  log.warn('transcode failed', { videoId: task.videoId, generation: task.generation, error: task.error.Error, failure });
  await pipelineDeps().pipeline.fail(task.videoId, task.generation, failure);
  countMetric(Metrics.jobsFailed, 1, { name: 'code', value: failure.code });
  return { status: 'failed' };
});
