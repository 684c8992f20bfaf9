import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { VideoStatus, Visibility } from '#contracts/api';
import { ConflictError, NotFoundError } from '#domain/errors';
import type { EditExpectation, TransitionChanges, VideoEdits, VideoPage, VideoPosition, VideoRepository } from '#domain/ports';
import type { Video } from '#domain/video';
import { unavailable } from './transient-errors.ts';
import { ownerIndex, ownerPartition, videoKey, videoOwnerIndexKey } from './keys.ts';

/** A video item as stored; parsed at this boundary so a malformed item fails loudly here. */
const VideoItem = z.object({
  entity: z.literal('video'),
  id: z.string(),
  ownerId: z.string(),
  title: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  visibility: Visibility,
  status: VideoStatus,
  fileName: z.string(),
  fileSize: z.number(),
  contentType: z.string(),
  rawKey: z.string(),
  uploadId: z.string(),
  partSize: z.number(),
  generation: z.number(),
  version: z.number(),
  /** Chunk indexes done (a number set, so a retried chunk counts once) and how many there are. */
  chunksDone: z.instanceof(Set).optional(),
  chunksTotal: z.number().optional(),
  failure: z.object({ code: z.string(), message: z.string() }).optional(),
  media: z
    .object({
      durationSeconds: z.number(),
      width: z.number(),
      height: z.number(),
      renditions: z.array(z.object({ name: z.string(), width: z.number(), height: z.number(), bandwidth: z.number() })),
      hlsMaster: z.string(),
      dashManifest: z.string(),
      poster: z.string(),
      candidates: z.array(z.string()),
      storyboard: z.string(),
      storyboardVtt: z.string(),
    })
    .optional(),
  correlationId: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** Fields a status transition may change besides the status; nothing else reaches the update. */
const TRANSITION_FIELDS = ['failure', 'generation', 'media', 'correlationId'] as const;

/** Fields a creator's edit may change; nothing else reaches the update. */
const EDIT_FIELDS = ['title', 'description', 'tags', 'visibility'] as const;

/** `VideoRepository` on the single DynamoDB table (see `keys.ts` for the access patterns). */
export class DynamoVideoRepository implements VideoRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(video: Video): Promise<void> {
    await this.client
      .send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...videoKey(video.id),
            ...videoOwnerIndexKey(video.ownerId, video.createdAt, video.id),
            entity: 'video',
            ...video,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((error: unknown) => {
        if (error instanceof ConditionalCheckFailedException) {
          throw new ConflictError(`video ${video.id} already exists`, { cause: error });
        }
        return unavailable('the video table')(error);
      });
  }

  async get(id: string): Promise<Video | undefined> {
    const { Item } = await this.client
      .send(new GetCommand({ TableName: this.tableName, Key: videoKey(id), ConsistentRead: true }))
      .catch(unavailable('the video table'));
    return Item ? toVideo(Item) : undefined;
  }

  async transition(
    id: string,
    from: readonly VideoStatus[],
    to: VideoStatus,
    changes: TransitionChanges = {},
    options: { generation?: number } = {},
  ): Promise<Video> {
    const names: Record<string, string> = { '#status': 'status', '#updatedAt': 'updatedAt', '#version': 'version' };
    const values: Record<string, unknown> = { ':to': to, ':now': new Date().toISOString(), ':one': 1 };
    const sets = ['#status = :to', '#updatedAt = :now', '#version = #version + :one'];
    for (const field of TRANSITION_FIELDS) {
      if (changes[field] === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = changes[field];
      sets.push(`#${field} = :${field}`);
    }
    const fromNames = from.map((status, i) => {
      values[`:from${i}`] = status;
      return `:from${i}`;
    });
    let condition = `attribute_exists(pk) AND #status IN (${fromNames.join(', ')})`;
    if (options.generation !== undefined) {
      names['#generationNow'] = 'generation';
      values[':generationNow'] = options.generation;
      condition += ' AND #generationNow = :generationNow';
    }
    return this.conditionalSet(id, { sets, condition, names, values }, (stored, cause) => {
      if (!stored) return new NotFoundError(`no video ${id}`, { cause });
      return new ConflictError(`video ${id} is no longer ${from.join(' or ')}`, { cause });
    });
  }

  async recordChunkDone(id: string, generation: number, index: number, total: number): Promise<void> {
    await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: videoKey(id),
          UpdateExpression: 'ADD #done :index SET #total = :total, #updatedAt = :now',
          ConditionExpression: '#status = :processing AND #generation = :generation',
          ExpressionAttributeNames: {
            '#done': 'chunksDone',
            '#total': 'chunksTotal',
            '#updatedAt': 'updatedAt',
            '#status': 'status',
            '#generation': 'generation',
          },
          ExpressionAttributeValues: {
            ':index': new Set([index]),
            ':total': total,
            ':now': new Date().toISOString(),
            ':processing': 'processing',
            ':generation': generation,
          },
        }),
      )
      .catch((error: unknown) => {
        if (error instanceof ConditionalCheckFailedException) {
          throw new ConflictError(`video ${id} generation ${generation} is no longer processing`, { cause: error });
        }
        return unavailable('the video table')(error);
      });
  }

  async edit(id: string, edits: VideoEdits, expect: EditExpectation): Promise<Video> {
    const names: Record<string, string> = { '#updatedAt': 'updatedAt', '#version': 'version', '#ownerId': 'ownerId' };
    const values: Record<string, unknown> = { ':now': new Date().toISOString(), ':one': 1, ':ownerId': expect.ownerId };
    const sets = ['#updatedAt = :now', '#version = #version + :one'];
    for (const field of EDIT_FIELDS) {
      if (edits[field] === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = edits[field];
      sets.push(`#${field} = :${field}`);
    }
    if (edits.poster !== undefined) {
      // A nested path: the caller expects a ready video (`notIn`), which always has `media`.
      names['#media'] = 'media';
      names['#poster'] = 'poster';
      values[':poster'] = edits.poster;
      sets.push('#media.#poster = :poster');
    }
    let condition = 'attribute_exists(pk) AND #ownerId = :ownerId';
    if (expect.version !== undefined) {
      values[':expectedVersion'] = expect.version;
      condition += ' AND #version = :expectedVersion';
    }
    if (expect.notIn?.length) {
      names['#status'] = 'status';
      const placeholders = expect.notIn.map((status, i) => {
        values[`:notIn${i}`] = status;
        return `:notIn${i}`;
      });
      condition += ` AND NOT (#status IN (${placeholders.join(', ')}))`;
    }
    return this.conditionalSet(id, { sets, condition, names, values }, (stored, cause) => {
      if (storedOwner(stored) !== expect.ownerId) return new NotFoundError(`no video ${id}`, { cause });
      return new ConflictError(`video ${id} changed: its version or status no longer allows this edit`, { cause });
    });
  }

  /**
   * One conditional `SET` on a video item, answering the updated video. When the condition fails,
   * `refused` turns the stored item (absent if there is none) into the error to throw.
   */
  private async conditionalSet(
    id: string,
    update: { sets: readonly string[]; condition: string; names: Record<string, string>; values: Record<string, unknown> },
    refused: (stored: Record<string, unknown> | undefined, cause: unknown) => Error,
  ): Promise<Video> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: videoKey(id),
          UpdateExpression: `SET ${update.sets.join(', ')}`,
          ConditionExpression: update.condition,
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: update.values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return toVideo(Attributes ?? {});
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw refused(error.Item, error);
      return unavailable('the video table')(error);
    }
  }

  async remove(id: string, ownerId: string): Promise<void> {
    await this.client
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: videoKey(id),
          ConditionExpression: 'attribute_exists(pk) AND #ownerId = :ownerId',
          ExpressionAttributeNames: { '#ownerId': 'ownerId' },
          ExpressionAttributeValues: { ':ownerId': ownerId },
        }),
      )
      .catch((error: unknown) => {
        if (error instanceof ConditionalCheckFailedException) throw new NotFoundError(`no video ${id}`, { cause: error });
        return unavailable('the video table')(error);
      });
    await this.removeRestOfPartition(id);
  }

  /**
   * Deletes what else the video's partition holds (co-view counters), once the video item is gone.
   * Those items also expire by TTL, which covers a failure here and a view recorded meanwhile.
   */
  private async removeRestOfPartition(id: string): Promise<void> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client
        .send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
            ExpressionAttributeValues: { ':pk': videoKey(id).pk },
            ProjectionExpression: '#pk, #sk',
            ConsistentRead: true,
            Limit: 25,
            ExclusiveStartKey: start,
          }),
        )
        .catch(unavailable('the video table'));
      let pending = (page.Items ?? []).map((Key) => ({ DeleteRequest: { Key: { pk: Key['pk'], sk: Key['sk'] } } }));
      for (let attempt = 0; pending.length > 0 && attempt < 5; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        const { UnprocessedItems } = await this.client
          .send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }))
          .catch(unavailable('the video table'));
        pending = (UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /**
   * A query of the owner index, newest first. It reads one item past the page, so `next` is
   * given only when another page really follows. The index is eventually consistent: a video
   * shows up in the list a moment after it is created.
   */
  async listByOwner(ownerId: string, page: { limit: number; after?: VideoPosition }): Promise<VideoPage> {
    const videos: Video[] = [];
    let start: Record<string, unknown> | undefined = page.after && {
      ...videoKey(page.after.id),
      ...videoOwnerIndexKey(ownerId, page.after.createdAt, page.after.id),
    };
    do {
      const result = await this.client
        .send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: ownerIndex.name,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
            ExpressionAttributeNames: { '#pk': ownerIndex.partitionKey, '#sk': ownerIndex.sortKey },
            ExpressionAttributeValues: {
              ':pk': ownerPartition(ownerId),
              ':prefix': ownerIndex.sortPrefix,
            },
            ScanIndexForward: false,
            Limit: page.limit + 1 - videos.length,
            ExclusiveStartKey: start,
          }),
        )
        .catch(unavailable('the video table'));
      videos.push(...(result.Items ?? []).map(toVideo));
      start = result.LastEvaluatedKey;
    } while (start && videos.length <= page.limit);
    if (videos.length <= page.limit) return { videos };
    const shown = videos.slice(0, page.limit);
    const last = shown[shown.length - 1]!;
    return { videos: shown, next: { createdAt: last.createdAt, id: last.id } };
  }

  /** A filtered scan: the sweeper runs every few minutes and stuck videos are rare. */
  async findStale(statuses: readonly VideoStatus[], before: Date): Promise<Video[]> {
    const found: Video[] = [];
    let start: Record<string, unknown> | undefined;
    const values: Record<string, unknown> = { ':video': 'video', ':before': before.toISOString() };
    const names = statuses.map((status, i) => {
      values[`:s${i}`] = status;
      return `:s${i}`;
    });
    do {
      const page = await this.client
        .send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: `#entity = :video AND #status IN (${names.join(', ')}) AND #updatedAt < :before`,
            ExpressionAttributeNames: { '#entity': 'entity', '#status': 'status', '#updatedAt': 'updatedAt' },
            ExpressionAttributeValues: values,
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        )
        .catch(unavailable('the video table'));
      found.push(...(page.Items ?? []).map(toVideo));
      start = page.LastEvaluatedKey;
    } while (start);
    return found;
  }
}

function toVideo(item: Record<string, unknown>): Video {
  const { entity: _entity, chunksDone, chunksTotal, ...video } = VideoItem.parse(item);
  return chunksTotal ? { ...video, progress: { done: chunksDone?.size ?? 0, total: chunksTotal } } : video;
}

/** The owner of the item a failed condition returned (the document client leaves it marshalled). */
function storedOwner(item: Record<string, unknown> | undefined): string | undefined {
  const owner = item?.['ownerId'];
  if (typeof owner === 'string') return owner;
  const s = (owner as { S?: unknown } | undefined)?.S;
  return typeof s === 'string' ? s : undefined;
}
