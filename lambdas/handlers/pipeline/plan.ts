import { Env } from '#contracts/env';
import { JobState, Probe, type Plan } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';
import { workflowTask } from '../shared/task.ts';
import { planJob } from '#domain/media';

/** Plan: the ladder (never taller than the source) and time chunks on segment boundaries. */
export const handler = workflowTask(async (event: unknown): Promise<Plan> => {
  const job = JobState.extend({ probe: Probe }).parse(event);
  const { config } = pipelineDeps();
  const rungs = config[Env.ladderRungs];
  return planJob(job.probe, {
    segmentSeconds: config[Env.segmentSeconds],
    targetChunkSeconds: config[Env.chunkSeconds],
    ...(rungs ? { rungs } : {}),
  });
});
