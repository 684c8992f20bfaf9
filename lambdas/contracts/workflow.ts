import { z } from 'zod';

/**
 * The transcode workflow's contract: state names (the CDK construct, local runner and tests use
 * these constants, never string literals), the handler module of each Lambda task, and the shape
 * of the data that flows between states.
 *
 * Flow: Claim → Probe → Plan → Parallel[ Map(TranscodeChunk) ‖ TranscodeAudio ‖ Thumbnails ] →
 * Package → Publish; any error → Fail (records {code, message}, removes partial outputs). Each
 * ffmpeg task is preceded by its Grant state (GrantProbe, GrantChunk, …), see `WorkerGrant`.
 */
export const StateNames = {
  claim: 'Claim',
  probe: 'Probe',
  plan: 'Plan',
  transcode: 'Transcode',
  chunks: 'Chunks',
  transcodeChunk: 'TranscodeChunk',
  transcodeAudio: 'TranscodeAudio',
  package: 'Package',
  thumbnails: 'Thumbnails',
  publish: 'Publish',
  fail: 'Fail',
  failed: 'Failed',
  /**
   * Before each task that runs ffmpeg: credentials scoped to this one video, sealed (see
   * `WorkerGrant`). One function behind all of them (`TaskHandlers[grant]`).
   */
  grant: 'Grant',
  grantProbe: 'GrantProbe',
  grantChunk: 'GrantChunk',
  grantAudio: 'GrantAudio',
  grantThumbnails: 'GrantThumbnails',
  /** MediaConvert mode only: builds the job settings for this video's plan. */
  mediaConvertSettings: 'MediaConvertSettings',
} as const;

/** Handler module (under `lambdas/handlers/`) of each Lambda task, keyed by state name. */
export const TaskHandlers = {
  [StateNames.claim]: 'pipeline/claim',
  [StateNames.grant]: 'pipeline/grant',
  [StateNames.probe]: 'pipeline/probe',
  [StateNames.plan]: 'pipeline/plan',
  [StateNames.transcodeChunk]: 'pipeline/transcode-chunk',
  [StateNames.transcodeAudio]: 'pipeline/transcode-audio',
  [StateNames.package]: 'pipeline/package',
  [StateNames.thumbnails]: 'pipeline/thumbnails',
  [StateNames.publish]: 'pipeline/publish',
  [StateNames.fail]: 'pipeline/fail',
  [StateNames.mediaConvertSettings]: 'pipeline/mediaconvert-settings',
} as const;

/** Handler modules outside the workflow: the event starter and the sweeper. */
export const PipelineHandlers = {
  starter: 'events/start-transcode',
  sweeper: 'events/sweep-stuck',
} as const;

/** Deterministic execution name: a second start of the same upload is a no-op. */
export const executionName = (videoId: string, generation: number) => `${videoId}-g${generation}`;

/** Errors a task throws, by `name`; permanent ones fail at once, transient ones are retried. */
export const PermanentErrors = ['InvalidMediaError', 'NotFoundError', 'ConflictError', 'ValidationError'] as const;

/**
 * Thrown by a media task whose grant would expire before the task could finish (a retry long
 * after the grant was minted): the workflow catches it and mints a new one.
 */
export const GRANT_EXPIRED = 'GrantExpiredError';

/**
 * A correlation id: the id every log line of one request or job carries, from the API through the
 * workflow. A client may send its own (`x-correlation-id`) when it is such a token.
 */
export const CorrelationId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a correlation id is 1-64 letters, digits, dots, dashes or underscores');

export const WorkflowInput = z.object({
  videoId: z.string(),
  generation: z.number().int().positive(),
  /** Whoever started the execution (API request, upload event, sweeper); Claim fills one in if missing. */
  correlationId: CorrelationId.optional(),
});
export type WorkflowInput = z.infer<typeof WorkflowInput>;

export const Probe = z.object({
  durationSeconds: z.number(),
  /** Display size, after rotation. */
  width: z.number().int(),
  height: z.number().int(),
  fps: z.number(),
  /** Rotation in degrees the source carries (display matrix), 0/90/180/270. */
  rotation: z.number().int(),
  hasAudio: z.boolean(),
  formatName: z.string(),
  videoCodec: z.string(),
});
export type Probe = z.infer<typeof Probe>;

export const Rung = z.object({
  name: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  videoBitrate: z.number().int(),
  maxBitrate: z.number().int(),
});
export type Rung = z.infer<typeof Rung>;

export const Chunk = z.object({ index: z.number().int(), start: z.number(), duration: z.number() });
export type Chunk = z.infer<typeof Chunk>;

export const Plan = z.object({
  segmentSeconds: z.number(),
  rungs: z.array(Rung),
  chunks: z.array(Chunk),
  audio: z.boolean(),
});
export type Plan = z.infer<typeof Plan>;

/**
 * A worker grant: temporary credentials of the media worker role with the session tag `videoId`,
 * so they reach only that video's source and output prefix, encrypted with the grant key under
 * the encryption context `{videoId, purpose}` (execution history and logs show only ciphertext).
 * Minted by the Grant task right before each ffmpeg task; that task opens it and works with it.
 */
export const WorkerGrant = z.object({
  sealed: z.string().min(1),
  /** When the credentials expire (ISO 8601): a task that would outlive them asks for new ones. */
  expiresAt: z.string(),
});
export type WorkerGrant = z.infer<typeof WorkerGrant>;

/** What flows from Claim through Publish (each state adds its part under its own key). */
export const JobState = WorkflowInput.extend({
  rawKey: z.string(),
  /** When the video became `processing` (ISO 8601), for the processing-time metric at Publish. */
  processingSince: z.string().optional(),
  probe: Probe.optional(),
  plan: Plan.optional(),
  /** The grant of the ffmpeg task about to run (each Grant state replaces it). */
  grant: WorkerGrant.optional(),
});
export type JobState = z.infer<typeof JobState>;

/** Input of one Map iteration (TranscodeChunk). */
export const ChunkTask = WorkflowInput.extend({ rawKey: z.string(), plan: Plan, chunk: Chunk, fps: z.number(), grant: WorkerGrant });
export type ChunkTask = z.infer<typeof ChunkTask>;

/** Input of the Fail state: the workflow input plus the caught error. */
export const FailTask = WorkflowInput.extend({
  error: z.object({ Error: z.string(), Cause: z.string().optional() }),
});
export type FailTask = z.infer<typeof FailTask>;

/** Where an upload lives in the raw bucket (the media worker role's policy names it too). */
export const RawLayout = {
  source: (videoId: string) => `uploads/${videoId}/source`,
} as const;

/** Where everything of a video lives in the media bucket. */
export const MediaLayout = {
  prefix: (videoId: string) => `videos/${videoId}/`,
  hlsMaster: (videoId: string) => `videos/${videoId}/hls/master.m3u8`,
  dashManifest: (videoId: string) => `videos/${videoId}/dash/manifest.mpd`,
  rendition: (videoId: string, rung: string) => `videos/${videoId}/media/${rung}/`,
  audio: (videoId: string) => `videos/${videoId}/media/audio/`,
  poster: (videoId: string) => `videos/${videoId}/thumbs/poster.jpg`,
  candidate: (videoId: string, n: number) => `videos/${videoId}/thumbs/candidate-${n}.jpg`,
  /** Prefix of the images a creator uploads as the poster (`custom-<random>.jpg|png`). */
  customPosterPrefix: (videoId: string) => `videos/${videoId}/thumbs/custom-`,
  storyboard: (videoId: string) => `videos/${videoId}/thumbs/storyboard.jpg`,
  storyboardVtt: (videoId: string) => `videos/${videoId}/thumbs/storyboard.vtt`,
} as const;
