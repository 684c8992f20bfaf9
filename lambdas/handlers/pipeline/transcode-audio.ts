import { JobState, Plan, Probe, WorkerGrant } from '#contracts/workflow';
import { withMediaTasks } from '#composition/pipeline';
import { workflowTask } from '../shared/task.ts';

/** Audio, once for the whole source, beside the chunk Map (AAC runs at 30–60× realtime). */
export const handler = workflowTask(async (event: unknown, context): Promise<{ audio: boolean }> => {
  const job = JobState.extend({ plan: Plan, probe: Probe, grant: WorkerGrant }).parse(event);
  return withMediaTasks(job.videoId, job.grant, context.getRemainingTimeInMillis(), (tasks) => tasks.transcodeAudio(job));
});
