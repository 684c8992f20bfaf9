import { JobState, WorkerGrant, type Probe } from '#contracts/workflow';
import { withMediaTasks } from '#composition/pipeline';
import { workflowTask } from '../shared/task.ts';

/** Probe: what the source is, through ffprobe's allow-lists; rejects anything that is not a usable video. */
export const handler = workflowTask(async (event: unknown, context): Promise<Probe> => {
  const job = JobState.extend({ grant: WorkerGrant }).parse(event);
  return withMediaTasks(job.videoId, job.grant, context.getRemainingTimeInMillis(), (tasks) => tasks.probe(job));
});
