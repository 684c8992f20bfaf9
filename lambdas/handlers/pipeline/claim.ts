import { WorkflowInput, type JobState } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';

/** Claim: `uploaded → processing` for this generation, so only one run works on a video. */
export const handler = async (event: unknown): Promise<JobState> => {
  const input = WorkflowInput.parse(event);
  const video = await pipelineDeps().pipeline.claim(input.videoId, input.generation);
  return { videoId: video.id, generation: video.generation, rawKey: video.rawKey };
};
