import { z } from 'zod';
import { JobState } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';

const PublishInput = JobState.extend({
  package: z.object({
    hlsMaster: z.string(),
    dashManifest: z.string(),
    durationSeconds: z.number(),
    renditions: z.array(z.object({ name: z.string(), width: z.number(), height: z.number(), bandwidth: z.number() })),
  }),
  probe: z.object({ width: z.number(), height: z.number() }),
  thumbnails: z.object({ poster: z.string(), candidates: z.array(z.string()), storyboard: z.string(), storyboardVtt: z.string() }),
});

/** Publish: `processing → ready` with what was made, for this generation only. */
export const handler = async (event: unknown): Promise<{ status: 'ready' }> => {
  const job = PublishInput.parse(event);
  await pipelineDeps().pipeline.publish(job.videoId, job.generation, {
    ...job.package,
    ...job.thumbnails,
    width: job.probe.width,
    height: job.probe.height,
  });
  return { status: 'ready' };
};
