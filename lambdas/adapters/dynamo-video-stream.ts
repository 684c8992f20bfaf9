import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { z } from 'zod';
import { VideoStatus, Visibility } from '#contracts/api';
import type { IndexableVideo, VideoChange } from '#domain/indexer';
import { videoKey } from './keys.ts';

/** The fields of a video item the index uses; the item has more (see `DynamoVideoRepository`). */
const IndexedVideoItem = z.object({
  id: z.string().min(1),
  ownerId: z.string().min(1),
  title: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  visibility: Visibility,
  status: VideoStatus,
  createdAt: z.string(),
  media: z.object({ durationSeconds: z.number() }).partial().optional(),
  views: z.number().optional(),
  trend: z.number().optional(),
  trendAt: z.number().optional(),
});

const VIDEO_SORT_KEY = videoKey('').sk;
const VIDEO_PARTITION_PREFIX = videoKey('').pk;

/** Whether a table key is a video item's (`pk = VIDEO#<id>`, `sk = VIDEO`), not a co-view or limit row. */
export function isVideoKey(key: Record<string, unknown>): boolean {
  return key['sk'] === VIDEO_SORT_KEY && typeof key['pk'] === 'string' && key['pk'].startsWith(VIDEO_PARTITION_PREFIX);
}

/** A video item (plain JS, as the document client or `unmarshall` gives it) as the index sees it. */
export function indexableVideo(item: Record<string, unknown>): IndexableVideo {
  const v = IndexedVideoItem.parse(item);
  return {
    id: v.id,
    ownerId: v.ownerId,
    title: v.title,
    description: v.description,
    tags: v.tags,
    visibility: v.visibility,
    status: v.status,
    createdAt: v.createdAt,
    ...(v.media?.durationSeconds === undefined ? {} : { durationSeconds: v.media.durationSeconds }),
    ...(v.views === undefined ? {} : { views: v.views }),
    ...(v.trend === undefined ? {} : { trend: v.trend }),
    ...(v.trendAt === undefined ? {} : { trendAt: v.trendAt }),
  };
}

/**
 * The video changes in a batch of table stream records, in order; records of other items are
 * left out. A video item that cannot be read becomes an `invalid` change (reported, not skipped).
 */
export function videoChanges(records: readonly DynamoDBRecord[]): VideoChange[] {
  return records.flatMap((record): VideoChange[] => {
    const stream = record.dynamodb;
    const position = stream?.SequenceNumber ?? record.eventID ?? '';
    const keys = stream?.Keys ? image(stream.Keys) : {};
    if (!isVideoKey(keys)) return [];
    const id = String(keys['pk']).slice(VIDEO_PARTITION_PREFIX.length);
    if (record.eventName === 'REMOVE') return [{ position, kind: 'remove', id }];
    try {
      if (!stream?.NewImage) throw new Error('the record has no new image (the stream must carry NEW_IMAGE or NEW_AND_OLD_IMAGES)');
      const video = indexableVideo(image(stream.NewImage));
      let previous: IndexableVideo | undefined;
      try {
        previous = stream.OldImage ? indexableVideo(image(stream.OldImage)) : undefined;
      } catch {
        previous = undefined; // an unreadable old image only means the write cannot be skipped
      }
      return [{ position, kind: 'upsert', video, ...(previous ? { previous } : {}) }];
    } catch (error) {
      return [{ position, kind: 'invalid', reason: `video ${id}: ${error instanceof Error ? error.message : String(error)}` }];
    }
  });
}

function image(attributes: Record<string, unknown>): Record<string, unknown> {
  // aws-lambda's stream AttributeValue and the SDK's are the same wire shape, typed apart.
  return unmarshall(attributes as Record<string, AttributeValue>);
}
