import { JobState, Probe, WorkerGrant } from '#contracts/workflow';
import { withMediaTasks } from '#composition/pipeline';
import { workflowTask } from '../shared/task.ts';

/** Thumbnails: a poster, three candidate stills, and a storyboard sprite with its WebVTT index. */
export const handler = workflowTask(async (event: unknown, context) => {
  const job = JobState.extend({ probe: Probe, grant: WorkerGrant }).parse(event);
  return withMediaTasks(job.videoId, job.grant, context.getRemainingTimeInMillis(), (tasks) => tasks.thumbnails(job));
});
