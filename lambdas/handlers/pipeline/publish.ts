import { z } from 'zod';
import { Metrics } from '#contracts/metrics';
import { JobState } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';
import { countMetric } from '../shared/observability.ts';
import { workflowTask } from '../shared/task.ts';
import { ValidationError } from '#domain/errors';

const Thumbnails = z.object({ poster: z.string(), candidates: z.array(z.string()), storyboard: z.string(), storyboardVtt: z.string() });

const PublishInput = JobState.extend({
  package: z.object({
    hlsMaster: z.string(),
    dashManifest: z.string(),
    durationSeconds: z.number(),
    // Measured peak bandwidth (ffmpeg) or, from MediaConvert's plan, the rung's cap.
    renditions: z.array(
      z
        .object({ name: z.string(), width: z.number(), height: z.number(), bandwidth: z.number().optional(), maxBitrate: z.number().optional() })
        .transform(({ maxBitrate, bandwidth, ...r }) => ({ ...r, bandwidth: bandwidth ?? maxBitrate ?? 0 })),
    ),
  }),
  probe: z.object({ width: z.number(), height: z.number() }),
  // Beside the chunks with ffmpeg (`$.transcode.thumbnails`), after the job with MediaConvert.
  thumbnails: Thumbnails.optional(),
  transcode: z.object({ thumbnails: Thumbnails.optional() }).optional(),
});

/**
 * Publish: `processing → ready` with what was made, for this generation only; counts the job and
 * its processing time per minute of video (from Claim to now).
 */
export const handler = workflowTask(async (event: unknown): Promise<{ status: 'ready' }> => {
  const job = PublishInput.parse(event);
  const thumbnails = job.thumbnails ?? job.transcode?.thumbnails;
  if (!thumbnails) throw new ValidationError('the workflow state has no thumbnails to publish');
  const published = await pipelineDeps().pipeline.publish(job.videoId, job.generation, {
    ...job.package,
    ...thumbnails,
    width: job.probe.width,
    height: job.probe.height,
  });
  countMetric(Metrics.jobsSucceeded);
  if (job.processingSince && job.package.durationSeconds > 0) {
    const seconds = (Date.parse(published.updatedAt) - Date.parse(job.processingSince)) / 1000;
    countMetric(Metrics.processingSecondsPerVideoMinute, seconds / (job.package.durationSeconds / 60));
  }
  return { status: 'ready' };
});
