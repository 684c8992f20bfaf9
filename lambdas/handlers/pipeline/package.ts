import { JobState, Plan, Probe } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';
import { workflowTask } from '../shared/task.ts';

/**
 * Package: stitched HLS media playlists, the master playlist and the DASH MPD over the same
 * segments. It runs no ffmpeg (only our own JSON and text), so it works with its own role.
 */
export const handler = workflowTask(async (event: unknown) => pipelineDeps().packager.package(JobState.extend({ plan: Plan, probe: Probe }).parse(event)));
