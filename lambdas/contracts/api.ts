import { z } from 'zod';

/**
 * Request and response shapes of the public API. Handlers parse with these, the local gateway
 * and the web app share them, and the README's API reference describes them.
 */

/** Video ids are 11 URL-safe characters (64 random bits), like a YouTube id. */
export const VideoId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{11}$/, 'video id must be 11 characters of A-Z, a-z, 0-9, "-" or "_"');

export const Visibility = z.enum(['public', 'unlisted', 'private']);
export type Visibility = z.infer<typeof Visibility>;

export const VideoStatus = z.enum([
  'pending_upload',
  'uploaded',
  'processing',
  'ready',
  'failed',
  'aborted',
]);
export type VideoStatus = z.infer<typeof VideoStatus>;

export const Title = z.string().trim().min(1, 'title must not be empty').max(200, 'title must be at most 200 characters');
export const Description = z.string().max(5000, 'description must be at most 5,000 characters');
export const Tags = z
  .array(z.string().trim().min(1, 'tags must not be empty').max(50, 'each tag must be at most 50 characters'))
  .max(20, 'at most 20 tags');

export const StartUploadRequest = z.strictObject({
  title: Title,
  description: Description.optional(),
  tags: Tags.optional(),
  visibility: Visibility,
  fileName: z.string().min(1, 'fileName must not be empty').max(255, 'fileName must be at most 255 characters'),
  fileSize: z.number().int('fileSize must be a whole number of bytes').positive('fileSize must be positive'),
  contentType: z
    .string()
    .regex(/^video\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/, 'contentType must be a video/* media type'),
});
export type StartUploadRequest = z.infer<typeof StartUploadRequest>;

export const PartUrl = z.object({ partNumber: z.number().int(), url: z.string(), size: z.number().int() });
export type PartUrl = z.infer<typeof PartUrl>;

export const StoredPart = z.object({ partNumber: z.number().int(), etag: z.string(), size: z.number().int() });
export type StoredPart = z.infer<typeof StoredPart>;

export const UploadSession = z.object({
  id: VideoId,
  status: VideoStatus,
  uploadId: z.string(),
  fileSize: z.number().int(),
  partSize: z.number().int(),
  partCount: z.number().int(),
  /** Parts S3 already holds (only in `GET .../upload`). */
  uploadedParts: z.array(StoredPart).optional(),
  /** Presigned PUT URLs for the parts still missing, each signed for its exact length. */
  parts: z.array(PartUrl),
  expiresAt: z.string(),
});
export type UploadSession = z.infer<typeof UploadSession>;

export const CompleteUploadRequest = z.strictObject({
  parts: z
    .array(
      z.strictObject({
        partNumber: z.number().int().min(1).max(10000),
        etag: z.string().min(1).max(128),
      }),
    )
    .min(1, 'parts must list every uploaded part')
    .max(10000),
});
export type CompleteUploadRequest = z.infer<typeof CompleteUploadRequest>;

export const VideoView = z.object({
  id: VideoId,
  ownerId: z.string(),
  title: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  visibility: Visibility,
  status: VideoStatus,
  fileName: z.string(),
  fileSize: z.number().int(),
  contentType: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  version: z.number().int(),
});
export type VideoView = z.infer<typeof VideoView>;

export const VideoStatusView = z.object({
  id: VideoId,
  status: VideoStatus,
  /** 0..1; chunks done / total while processing, 1 when ready. */
  progress: z.number(),
  failure: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type VideoStatusView = z.infer<typeof VideoStatusView>;

/** Every error response: a machine code and a message that says what to fix. */
export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.array(z.string()).optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
