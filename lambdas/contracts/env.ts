import { z } from 'zod';

/**
 * Names of every environment variable a function reads. CDK sets them (`lib/`), local mode
 * resolves them from the synthesized template (`local/`), the composition roots parse them —
 * all from this one list, so a name cannot drift between the three.
 */
export const Env = {
  tableName: 'TABLE_NAME',
  rawBucket: 'RAW_BUCKET',
  mediaBucket: 'MEDIA_BUCKET',
  userPoolId: 'USER_POOL_ID',
  userPoolClientId: 'USER_POOL_CLIENT_ID',
  uploadMaxBytes: 'UPLOAD_MAX_BYTES',
  uploadPartSizeBytes: 'UPLOAD_PART_SIZE_BYTES',
  uploadUrlTtlSeconds: 'UPLOAD_URL_TTL_SECONDS',
  uploadStartsPerHour: 'UPLOAD_STARTS_PER_HOUR',
  /** Capability flag: path-style S3 URLs (needed by the local S3 stand-in on loopback). */
  s3ForcePathStyle: 'S3_FORCE_PATH_STYLE',
  /** ARN of the transcode state machine. */
  workflowArn: 'WORKFLOW_ARN',
  /** Media segment length, seconds. */
  segmentSeconds: 'SEGMENT_SECONDS',
  /** Target length of a transcode chunk (a multiple of the segment length), seconds. */
  chunkSeconds: 'CHUNK_SECONDS',
  /** The sweeper restarts or fails videos stuck in uploaded/processing longer than this. */
  stuckAfterMinutes: 'STUCK_AFTER_MINUTES',
  /** Only these ladder rungs (comma-separated names); unset: every rung up to the source. */
  ladderRungs: 'LADDER_RUNGS',
  ffmpegPath: 'FFMPEG_PATH',
  ffprobePath: 'FFPROBE_PATH',
} as const;

export type EnvName = (typeof Env)[keyof typeof Env];

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Defaults a user can rely on (README "Limits"); every one is overridable by its env var. */
export const UploadDefaults = {
  maxBytes: 20 * GiB,
  partSizeBytes: 8 * MiB,
  urlTtlSeconds: 3600,
  startsPerHour: 5,
} as const;

const flag = z
  .enum(['true', 'false', '1', '0'])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

/** Configuration of functions that only read videos. */
export const VideoReadConfig = z.object({
  [Env.tableName]: z.string().min(1),
});
export type VideoReadConfig = z.infer<typeof VideoReadConfig>;

/** The upload API's configuration, parsed once by its composition root. */
export const UploadApiConfig = VideoReadConfig.extend({
  [Env.rawBucket]: z.string().min(1),
  [Env.uploadMaxBytes]: z.coerce.number().int().positive().default(UploadDefaults.maxBytes),
  [Env.uploadPartSizeBytes]: z.coerce
    .number()
    .int()
    .min(5 * MiB, 'S3 parts (but the last) must be at least 5 MiB')
    .default(UploadDefaults.partSizeBytes),
  [Env.uploadUrlTtlSeconds]: z.coerce.number().int().min(60).max(604800).default(UploadDefaults.urlTtlSeconds),
  [Env.uploadStartsPerHour]: z.coerce.number().int().positive().default(UploadDefaults.startsPerHour),
  [Env.s3ForcePathStyle]: flag,
  /** Only the complete-upload function starts the workflow, so only it is given the ARN. */
  [Env.workflowArn]: z.string().min(1).optional(),
});
export type UploadApiConfig = z.infer<typeof UploadApiConfig>;

/** Configuration of the pipeline's functions (starter, sweeper and workflow tasks). */
export const PipelineConfig = VideoReadConfig.extend({
  [Env.rawBucket]: z.string().min(1).optional(),
  [Env.mediaBucket]: z.string().min(1).optional(),
  [Env.workflowArn]: z.string().min(1).optional(),
  [Env.segmentSeconds]: z.coerce.number().positive().default(6),
  [Env.chunkSeconds]: z.coerce.number().positive().default(60),
  [Env.stuckAfterMinutes]: z.coerce.number().positive().default(30),
  [Env.ladderRungs]: z
    .string()
    .optional()
    .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined)),
  [Env.s3ForcePathStyle]: flag,
});
export type PipelineConfig = z.infer<typeof PipelineConfig>;
