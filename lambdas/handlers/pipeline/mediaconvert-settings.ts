import { buildMediaConvertJob, parseMediaConvertJobInput, type MediaConvertJob } from '#adapters/mediaconvert-job';
import { workflowTask } from '../shared/task.ts';

/**
 * `MediaConvertSettings` task (transcoder = mediaconvert): turns this video's plan into the
 * MediaConvert job settings the next task submits with `.sync`. Pure: no AWS call, no config; the
 * workflow passes the S3 URIs. A malformed input is a `ValidationError` (not retried).
 */
export const handler = workflowTask(async (event: unknown): Promise<MediaConvertJob> => buildMediaConvertJob(parseMediaConvertJobInput(event)));
