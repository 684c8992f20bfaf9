import { buildMediaConvertJob, parseMediaConvertJobInput, type MediaConvertJob } from '#adapters/mediaconvert-job';

/**
 * `MediaConvertSettings` task (transcoder = mediaconvert): turns this video's plan into the
 * MediaConvert job settings the next task submits with `.sync`. Pure: no AWS call, no config; the
 * workflow passes the S3 URIs. A malformed input is a `ValidationError` (not retried).
 */
export const handler = async (event: unknown): Promise<MediaConvertJob> => buildMediaConvertJob(parseMediaConvertJobInput(event));
