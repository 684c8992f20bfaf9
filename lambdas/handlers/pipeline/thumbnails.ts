import { JobState, Probe } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';
import { workflowTask } from '../shared/task.ts';

/** Thumbnails: a poster, three candidate stills, and a storyboard sprite with its WebVTT index. */
export const handler = workflowTask(async (event: unknown) => pipelineDeps().tasks.thumbnails(JobState.extend({ probe: Probe }).parse(event)));
