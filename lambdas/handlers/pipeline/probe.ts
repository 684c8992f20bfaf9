import { JobState, type Probe } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';
import { workflowTask } from '../shared/task.ts';

/** Probe: what the source is, through ffprobe's allow-lists; rejects anything that is not a usable video. */
export const handler = workflowTask(async (event: unknown): Promise<Probe> => pipelineDeps().tasks.probe(JobState.parse(event)));
