import { JobState, Plan, Probe } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';

/** Package: stitched HLS media playlists, the master playlist and the DASH MPD over the same segments. */
export const handler = async (event: unknown) =>
  pipelineDeps().tasks.package(JobState.extend({ plan: Plan, probe: Probe }).parse(event));
