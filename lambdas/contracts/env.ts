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
  /** Base URL of the CDN that serves media (and the web app), e.g. `https://d111.cloudfront.net`. */
  cdnUrl: 'CDN_URL',
  /** Secrets Manager id of the playback signing key (`{"kid","key"}`), shared with the edge. */
  playbackKeySecret: 'PLAYBACK_KEY_SECRET',
  /** Lifetime of signed playback URLs for private and unlisted videos, seconds (plus the video's duration). */
  playbackTtlSeconds: 'PLAYBACK_TTL_SECONDS',
  /**
   * ARN of the role the ffmpeg tasks work as, one video at a time: the Grant task assumes it with
   * the session tag `videoId`, and its policy reaches only that video's keys.
   */
  mediaWorkerRoleArn: 'MEDIA_WORKER_ROLE_ARN',
  /** KMS key that seals a worker grant (those credentials) while it travels in the workflow's state. */
  grantKeyId: 'GRANT_KEY_ID',
  ffmpegPath: 'FFMPEG_PATH',
  ffprobePath: 'FFPROBE_PATH',
  /** Capability flag: which search index adapter (`embedded` snapshot in S3, or `opensearch`). */
  searchBackend: 'SEARCH_BACKEND',
  /** The bucket and key of the embedded search index's snapshot (`embedded` backend). */
  searchSnapshotBucket: 'SEARCH_SNAPSHOT_BUCKET',
  searchSnapshotKey: 'SEARCH_SNAPSHOT_KEY',
  /** The OpenSearch domain's or collection's HTTPS endpoint (`opensearch` backend). */
  openSearchEndpoint: 'OPENSEARCH_ENDPOINT',
  /** Secrets Manager id of the search cursor signing key (`{"key"}`). */
  searchCursorSecret: 'SEARCH_CURSOR_SECRET',
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

/** Routes with `auth: 'optional'` verify a sent ID token themselves, against this user pool. */
export const OptionalAuthConfig = z.object({
  [Env.userPoolId]: z.string().min(1),
  [Env.userPoolClientId]: z.string().min(1),
  /** Cognito's endpoint; the token issuer is `<endpoint>/<pool id>` (set only in local mode). */
  AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: z.string().url().optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
});
export type OptionalAuthConfig = z.infer<typeof OptionalAuthConfig>;

/** Defaults of playback URLs (README "Configuration"). */
export const PlaybackDefaults = {
  /** Two hours on top of the video's own duration, so a viewer can pause and come back. */
  ttlSeconds: 7200,
} as const;

/** Functions that hand out playback URLs (stream, lists with posters). */
export const PlaybackConfig = VideoReadConfig.extend({
  [Env.cdnUrl]: z.string().url('CDN_URL must be an absolute URL'),
  [Env.playbackKeySecret]: z.string().min(1),
  [Env.playbackTtlSeconds]: z.coerce.number().int().min(60).max(7 * 86400).default(PlaybackDefaults.ttlSeconds),
});
export type PlaybackConfig = z.infer<typeof PlaybackConfig>;

/**
 * Functions that manage a creator's videos (edit, delete, list). Only deleting touches the
 * buckets, so only the delete function is given them; the others have the table alone.
 */
export const VideoAdminConfig = VideoReadConfig.extend({
  [Env.rawBucket]: z.string().min(1).optional(),
  [Env.mediaBucket]: z.string().min(1).optional(),
  [Env.s3ForcePathStyle]: flag,
  /** Deleting a video stops its running workflow, so only the deleting functions are given the ARN. */
  [Env.workflowArn]: z.string().min(1).optional(),
});
export type VideoAdminConfig = z.infer<typeof VideoAdminConfig>;

/** The account functions (profile, export, delete); only deleting the account is given the user pool. */
export const AccountConfig = VideoAdminConfig.extend({
  [Env.userPoolId]: z.string().min(1).optional(),
});
export type AccountConfig = z.infer<typeof AccountConfig>;

/** Configuration of the pipeline's functions (starter, sweeper and workflow tasks). */
export const PipelineConfig = VideoReadConfig.extend({
  [Env.rawBucket]: z.string().min(1).optional(),
  [Env.mediaBucket]: z.string().min(1).optional(),
  [Env.workflowArn]: z.string().min(1).optional(),
  [Env.mediaWorkerRoleArn]: z.string().min(1).optional(),
  [Env.grantKeyId]: z.string().min(1).optional(),
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

/** The search backends, chosen by CDK context `search` and passed to functions as `Env.searchBackend`. */
export const SearchBackend = z.enum(['embedded', 'opensearch']);
export type SearchBackend = z.infer<typeof SearchBackend>;

/** The OpenSearch index that holds the videos (one per deployment; IAM grants name it). */
export const OPENSEARCH_INDEX = 'videos';

/**
 * Where a function finds the search index: the snapshot object (embedded) or the endpoint
 * (OpenSearch). Which ones must be set depends on the backend; the composition root checks.
 */
export const SearchIndexConfig = z.object({
  [Env.searchBackend]: SearchBackend.default('embedded'),
  [Env.searchSnapshotBucket]: z.string().min(1).optional(),
  [Env.searchSnapshotKey]: z.string().min(1).optional(),
  [Env.openSearchEndpoint]: z.string().url().optional(),
  [Env.s3ForcePathStyle]: flag,
  AWS_REGION: z.string().min(1).default('us-east-1'),
});
export type SearchIndexConfig = z.infer<typeof SearchIndexConfig>;

/** The search route: the index, and the key its cursors are signed with. */
export const SearchConfig = SearchIndexConfig.extend({
  [Env.searchCursorSecret]: z.string().min(1),
});
export type SearchConfig = z.infer<typeof SearchConfig>;
