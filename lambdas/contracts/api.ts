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

/**
 * `GET /api/v1/videos/{id}/stream`: where to play a ready video from — URLs on the CDN, never the
 * media itself. Public videos get URLs every viewer shares (cacheable); private and unlisted ones
 * get short-lived signed URLs. The signature is in the path, so every relative URL inside a
 * manifest inherits it and any HLS/DASH client plays from the URL alone.
 */
export const StreamView = z.object({
  id: VideoId,
  /** HLS master playlist. */
  hls: z.string(),
  /** DASH MPD over the same segments. */
  dash: z.string(),
  /** Poster image (JPEG). */
  poster: z.string(),
  /** WebVTT storyboard: seek-bar previews as `sprite.jpg#xywh=` cues. */
  storyboard: z.string(),
  /** When these URLs stop working; ask again before then. */
  expiresAt: z.string(),
  durationSeconds: z.number(),
  renditions: z.array(z.object({ name: z.string(), width: z.number().int(), height: z.number().int(), bandwidth: z.number().int() })),
});
export type StreamView = z.infer<typeof StreamView>;

/** `PATCH /api/v1/videos/{id}`: any of the editable fields; `version` makes the write conditional. */
export const UpdateVideoRequest = z
  .strictObject({
    title: Title.optional(),
    description: Description.optional(),
    tags: Tags.optional(),
    visibility: Visibility.optional(),
    /**
     * The poster, chosen among the thumbnails the pipeline published (`candidate` 0..2); only once
     * the video is `ready`. The stream route then hands out the chosen image as `poster`.
     */
    poster: z
      .union([
        z.strictObject({ candidate: z.number().int().min(0, 'candidate must be 0, 1 or 2').max(2, 'candidate must be 0, 1 or 2') }),
        /** The `key` of an image uploaded with `POST /api/v1/videos/{id}/poster` (`PosterUpload`). */
        z.strictObject({ uploaded: z.string().min(1, 'uploaded must be the key of an uploaded poster image').max(1024) }),
      ])
      .optional(),
    /** The `version` the edit was based on; a newer one on the server gives 409. */
    version: z.number().int().positive().optional(),
  })
  .refine(
    (b) => b.title !== undefined || b.description !== undefined || b.tags !== undefined || b.visibility !== undefined || b.poster !== undefined,
    { message: 'send at least one of title, description, tags, visibility, poster' },
  );
export type UpdateVideoRequest = z.infer<typeof UpdateVideoRequest>;

/** Limits of a creator-uploaded poster image. */
export const PosterUploadLimits = { maxBytes: 2 * 1024 * 1024, urlTtlSeconds: 15 * 60 } as const;

/** `POST /api/v1/videos/{id}/poster`: the image the creator is about to upload as the poster. */
export const StartPosterUploadRequest = z.strictObject({
  contentType: z.enum(['image/jpeg', 'image/png'], { error: 'contentType must be image/jpeg or image/png' }),
  size: z
    .number()
    .int('size must be a whole number of bytes')
    .min(1, 'size must be positive')
    .max(PosterUploadLimits.maxBytes, 'size must be at most 2 MiB'),
});
export type StartPosterUploadRequest = z.infer<typeof StartPosterUploadRequest>;

/**
 * Where to PUT the image: a presigned URL signed for exactly that `Content-Type` and
 * `Content-Length`. Once stored, `PATCH /api/v1/videos/{id}` with `poster: {uploaded: key}`.
 */
export const PosterUpload = z.object({ url: z.string(), key: z.string(), expiresAt: z.string() });
export type PosterUpload = z.infer<typeof PosterUpload>;

/** `GET /api/v1/me/videos?limit=&cursor=`: the caller's videos, newest first. */
export const ListVideosQuery = z.strictObject({
  limit: z.coerce.number().int().min(1, 'limit must be 1..100').max(100, 'limit must be 1..100').default(24),
  cursor: z.string().max(2048).optional(),
});
export type ListVideosQuery = z.infer<typeof ListVideosQuery>;

export const VideoSummary = VideoView.extend({
  progress: z.number(),
  failure: z.object({ code: z.string(), message: z.string() }).optional(),
  durationSeconds: z.number().optional(),
});
export type VideoSummary = z.infer<typeof VideoSummary>;

export const VideoList = z.object({
  items: z.array(VideoSummary),
  /** Pass back as `cursor` for the next page; absent on the last page. */
  nextCursor: z.string().optional(),
});
export type VideoList = z.infer<typeof VideoList>;

/**
 * A video as search, feeds, recommendations and channel pages show it: public metadata only
 * (never the file name or size), a poster URL when ready.
 */
export const VideoCard = z.object({
  id: VideoId,
  ownerId: z.string(),
  title: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  visibility: Visibility,
  durationSeconds: z.number().optional(),
  views: z.number().int(),
  createdAt: z.string(),
  /** Owner's display name, when they set one. */
  ownerName: z.string().optional(),
});
export type VideoCard = z.infer<typeof VideoCard>;

/** `{items, nextCursor?}` of cards: search results, feeds, channel pages. */
export const VideoCardPage = z.object({ items: z.array(VideoCard), nextCursor: z.string().optional() });
export type VideoCardPage = z.infer<typeof VideoCardPage>;

const csvTags = z
  .string()
  .max(1100)
  .transform((v) => v.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean))
  .pipe(z.array(z.string().max(50, 'each tag must be at most 50 characters')).max(10, 'at most 10 tags'));

/**
 * `GET /api/v1/search/videos?q=&tags=&page_size=&cursor=`. `q` matches title, tags and
 * description (typos tolerated); `tags` (comma-separated) narrows to videos with all of them.
 * `cursor` is opaque and valid only with the same `q` and `tags`.
 */
export const SearchQuery = z
  .strictObject({
    q: z.string().trim().max(200, 'q must be at most 200 characters').optional(),
    tags: csvTags.optional(),
    page_size: z.coerce.number().int().min(1, 'page_size must be 1..50').max(50, 'page_size must be 1..50').default(20),
    cursor: z.string().max(2048).optional(),
  })
  .refine((v) => (v.q && v.q.length > 0) || (v.tags && v.tags.length > 0), { message: 'send q (search words) or tags (or both)' });
export type SearchQuery = z.infer<typeof SearchQuery>;

/** `?limit=` of feeds (trending, recommendations, related). */
export const FeedQuery = z.strictObject({
  limit: z.coerce.number().int().min(1, 'limit must be 1..50').max(50, 'limit must be 1..50').default(20),
});
export type FeedQuery = z.infer<typeof FeedQuery>;

/**
 * `POST /api/v1/videos/{id}/views`: one view. Anonymous viewers send a `sessionId` (random,
 * kept by the client) so views are counted once per user or session per video per hour.
 */
export const RecordViewRequest = z.strictObject({
  sessionId: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'sessionId must be 16..64 characters of A-Z, a-z, 0-9, "-" or "_"').optional(),
});
export type RecordViewRequest = z.infer<typeof RecordViewRequest>;
export const RecordViewResponse = z.object({ counted: z.boolean(), views: z.number().int() });
export type RecordViewResponse = z.infer<typeof RecordViewResponse>;

export const DisplayName = z.string().trim().min(1, 'displayName must not be empty').max(60, 'displayName must be at most 60 characters');

/** `GET /api/v1/me`. */
export const Profile = z.object({
  userId: z.string(),
  email: z.string().optional(),
  displayName: z.string().optional(),
  /** Avatar image URL (https), if set. */
  avatarUrl: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Profile = z.infer<typeof Profile>;

/** `PATCH /api/v1/me`. */
export const UpdateProfileRequest = z
  .strictObject({
    displayName: DisplayName.optional(),
    avatarUrl: z.string().url('avatarUrl must be an absolute URL').max(2048).regex(/^https:\/\//, 'avatarUrl must be https').nullable().optional(),
  })
  .refine((v) => v.displayName !== undefined || v.avatarUrl !== undefined, { message: 'send displayName or avatarUrl' });
export type UpdateProfileRequest = z.infer<typeof UpdateProfileRequest>;

/** `GET /api/v1/me/export`: everything the platform holds about the caller. */
export const AccountExport = z.object({
  exportedAt: z.string(),
  profile: Profile,
  videos: z.array(VideoSummary),
  views: z.array(z.object({ videoId: z.string(), at: z.string() })),
});
export type AccountExport = z.infer<typeof AccountExport>;

/** Every error response: a machine code and a message that says what to fix. */
export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.array(z.string()).optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
