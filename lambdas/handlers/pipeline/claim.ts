import { WorkflowInput, type JobState } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';
import { correlationId, newCorrelationId } from '../shared/observability.ts';
import { workflowTask } from '../shared/task.ts';

/**
 * Claim: `uploaded → processing` for this generation, so only one run works on a video. Its
 * output becomes the state, so it carries the correlation id on (one of its own when the
 * execution came without) and when processing began.
 */
export const handler = workflowTask(async (event: unknown): Promise<JobState> => {
  const input = WorkflowInput.parse(event);
  const video = await pipelineDeps().pipeline.claim(input.videoId, input.generation);
  return {
    videoId: video.id,
    generation: video.generation,
    rawKey: video.rawKey,
    // Never absent: the transcode Map reads `$.correlationId`, and a missing path is a States.Runtime
    // error that no Catch handles (the video would stay `processing`).
    correlationId: correlationId.get() ?? input.correlationId ?? newCorrelationId(),
    processingSince: video.updatedAt,
  };
});
