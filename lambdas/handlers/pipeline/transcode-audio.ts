import { JobState, Plan, Probe } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';
import { workflowTask } from '../shared/task.ts';

/** Audio, once for the whole source, beside the chunk Map (AAC runs at 30–60× realtime). */
export const handler = workflowTask(async (event: unknown): Promise<{ audio: boolean }> =>
  pipelineDeps().tasks.transcodeAudio(JobState.extend({ plan: Plan, probe: Probe }).parse(event)));
