import { JobState, Plan, Probe } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';
import { workflowTask } from '../shared/task.ts';

/** Package: stitched HLS media playlists, the master playlist and the DASH MPD over the same segments. */
export const handler = workflowTask(async (event: unknown) => pipelineDeps().tasks.package(JobState.extend({ plan: Plan, probe: Probe }).parse(event)));
