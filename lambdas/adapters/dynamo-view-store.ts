import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { VideoStatus, Visibility } from '#contracts/api';
import type { VideoSnapshot, ViewCounters, ViewStore } from '#domain/ports';
import { coViewKey, coViewSortPrefix, historyKey, historySortPrefix, userPartition, videoKey, viewMarkKey } from './keys.ts';
import { unavailable } from './transient-errors.ts';

/** The counters on a video item (absent until its first view). */
const Counters = z.object({
  views: z.number().int().nonnegative().default(0),
  trend: z.number().nonnegative().default(0),
  trendAt: z.number().optional(),
});

/** The fields of a video item a card needs, read with a projection. */
const SnapshotItem = Counters.extend({
  id: z.string(),
  ownerId: z.string(),
  title: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  visibility: Visibility,
  status: VideoStatus,
  createdAt: z.string(),
  media: z.object({ durationSeconds: z.number() }).optional(),
});
const SNAPSHOT_FIELDS = ['id', 'ownerId', 'title', 'description', 'tags', 'visibility', 'status', 'createdAt', 'views', 'trend', 'trendAt'];
/** The projection of a snapshot: the top-level fields as `#f<n>`, and the media's duration. */
const SNAPSHOT_PROJECTION = {
  expression: [...SNAPSHOT_FIELDS.map((_, n) => `#f${n}`), '#media.#duration'].join(', '),
  names: {
    ...Object.fromEntries(SNAPSHOT_FIELDS.map((field, n) => [`#f${n}`, field])),
    '#media': 'media',
    '#duration': 'durationSeconds',
  },
};

const HistoryItem = z.object({ videoId: z.string(), at: z.string() });
const CoViewItem = z.object({ otherId: z.string(), count: z.number() });

/** BatchGetItem takes at most this many keys per request, BatchWriteItem this many writes. */
const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;
/** Co-view items read per video at most (they are ranked in memory). */
const CO_VIEW_READ_MAX = 1000;
const BATCH_ATTEMPTS = 5;
/**
 * A co-view pair expires this long after it was last counted (TTL), so "watched together" means
 * recently, and pairs of a video deleted without {@link DynamoViewStore.forgetVideo} age out.
 */
export const CO_VIEW_TTL_SECONDS = 180 * 86400;

/**
 * `ViewStore` on the single table (see `keys.ts`): view marks are items that expire (TTL), the
 * counters live on the video item itself (so the stream carries them to the search index),
 * history rows sit in the user's partition (purged with the account), co-view counters in the
 * video's partition.
 */
export class DynamoViewStore implements ViewStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claimView(videoId: string, viewer: string, hour: number, expiresAt: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...viewMarkKey(videoId, viewer, hour), entity: 'view-mark', expiresAt: Math.ceil(expiresAt / 1000) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      return unavailable('the view counter')(error);
    }
  }

  async counters(videoId: string): Promise<ViewCounters | undefined> {
    const { Item } = await this.client
      .send(
        new GetCommand({
          TableName: this.tableName,
          Key: videoKey(videoId),
          ConsistentRead: true,
          // `entity` is always there, so an item never watched still comes back (as no counters).
          ProjectionExpression: '#views, #trend, #trendAt, #entity',
          ExpressionAttributeNames: { '#views': 'views', '#trend': 'trend', '#trendAt': 'trendAt', '#entity': 'entity' },
        }),
      )
      .catch(unavailable('the video table'));
    return Item ? counters(Item) : undefined;
  }

  async addView(videoId: string, next: { trend: number; trendAt: number }, expectTrendAt: number | undefined): Promise<ViewCounters | 'conflict' | undefined> {
    const values: Record<string, unknown> = { ':one': 1, ':trend': next.trend, ':trendAt': next.trendAt };
    let condition = 'attribute_exists(pk) AND attribute_not_exists(#trendAt)';
    if (expectTrendAt !== undefined) {
      values[':expect'] = expectTrendAt;
      condition = 'attribute_exists(pk) AND #trendAt = :expect';
    }
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: videoKey(videoId),
          UpdateExpression: 'ADD #views :one SET #trend = :trend, #trendAt = :trendAt',
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#views': 'views', '#trend': 'trend', '#trendAt': 'trendAt' },
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return counters(Attributes ?? {});
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return error.Item ? 'conflict' : undefined;
      return unavailable('the video table')(error);
    }
  }

  async addHistory(userId: string, videoId: string, at: Date): Promise<void> {
    const iso = at.toISOString();
    await this.client
      .send(new PutCommand({ TableName: this.tableName, Item: { ...historyKey(userId, iso, videoId), entity: 'view', userId, videoId, at: iso } }))
      .catch(unavailable('the video table'));
  }

  async history(userId: string, limit: number): Promise<{ videoId: string; at: string }[]> {
    const { Items } = await this.client
      .send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': userPartition(userId), ':prefix': historySortPrefix },
          ScanIndexForward: false,
          Limit: limit,
        }),
      )
      .catch(unavailable('the video table'));
    return (Items ?? []).map((item) => HistoryItem.parse(item));
  }

  async addCoViews(videoId: string, others: readonly string[]): Promise<void> {
    const pairs = others.filter((other) => other !== videoId).flatMap((other) => [[videoId, other], [other, videoId]] as const);
    const expiresAt = Math.ceil(Date.now() / 1000) + CO_VIEW_TTL_SECONDS;
    await Promise.all(
      pairs.map(([a, b]) =>
        this.client
          .send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: coViewKey(a, b),
              UpdateExpression: 'ADD #count :one SET #entity = :entity, #videoId = :a, #otherId = :b, #expiresAt = :expiresAt',
              ExpressionAttributeNames: { '#count': 'count', '#entity': 'entity', '#videoId': 'videoId', '#otherId': 'otherId', '#expiresAt': 'expiresAt' },
              ExpressionAttributeValues: { ':one': 1, ':entity': 'co-view', ':a': a, ':b': b, ':expiresAt': expiresAt },
            }),
          )
          .catch(unavailable('the video table')),
      ),
    );
  }

  async coViewed(videoId: string, limit: number): Promise<{ videoId: string; count: number }[]> {
    return (await this.coViewItems(videoId, CO_VIEW_READ_MAX))
      .sort((a, b) => b.count - a.count || (a.videoId < b.videoId ? -1 : 1))
      .slice(0, limit);
  }

  async forgetVideo(videoId: string): Promise<void> {
    const others = await this.coViewItems(videoId, Number.POSITIVE_INFINITY);
    const keys = others.flatMap(({ videoId: other }) => [coViewKey(videoId, other), coViewKey(other, videoId)]);
    for (let i = 0; i < keys.length; i += BATCH_WRITE_MAX) {
      let requests: Record<string, unknown>[] = keys.slice(i, i + BATCH_WRITE_MAX).map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 1; requests.length > 0; attempt++) {
        if (attempt > BATCH_ATTEMPTS) return unavailable('the video table')(Object.assign(new Error('unprocessed items'), { name: 'ThrottlingException' }));
        const result = await this.client
          .send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }))
          .catch(unavailable('the video table'));
        requests = (result.UnprocessedItems?.[this.tableName] as Record<string, unknown>[] | undefined) ?? [];
        if (requests.length > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      }
    }
  }

  private async coViewItems(videoId: string, max: number): Promise<{ videoId: string; count: number }[]> {
    const found: { videoId: string; count: number }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client
        .send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': videoKey(videoId).pk, ':prefix': coViewSortPrefix },
            ExclusiveStartKey: start,
          }),
        )
        .catch(unavailable('the video table'));
      for (const item of page.Items ?? []) {
        const { otherId, count } = CoViewItem.parse(item);
        found.push({ videoId: otherId, count });
      }
      start = page.LastEvaluatedKey;
    } while (start && found.length < max);
    return found;
  }

  async snapshots(ids: readonly string[]): Promise<VideoSnapshot[]> {
    const unique = [...new Set(ids)];
    const found: VideoSnapshot[] = [];
    for (let i = 0; i < unique.length; i += BATCH_GET_MAX) {
      let keys: Record<string, unknown>[] = unique.slice(i, i + BATCH_GET_MAX).map(videoKey);
      for (let attempt = 1; keys.length > 0; attempt++) {
        if (attempt > BATCH_ATTEMPTS) return unavailable('the video table')(Object.assign(new Error('unprocessed keys'), { name: 'ThrottlingException' }));
        const result = await this.client
          .send(
            new BatchGetCommand({
              RequestItems: {
                [this.tableName]: {
                  Keys: keys,
                  ConsistentRead: true,
                  ProjectionExpression: SNAPSHOT_PROJECTION.expression,
                  ExpressionAttributeNames: SNAPSHOT_PROJECTION.names,
                },
              },
            }),
          )
          .catch(unavailable('the video table'));
        found.push(...(result.Responses?.[this.tableName] ?? []).map(snapshot));
        keys = (result.UnprocessedKeys?.[this.tableName]?.Keys as Record<string, unknown>[] | undefined) ?? [];
        if (keys.length > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      }
    }
    return found;
  }
}

function counters(item: Record<string, unknown>): ViewCounters {
  const { views, trend, trendAt } = Counters.parse(item);
  return trendAt === undefined ? { views, trend } : { views, trend, trendAt };
}

function snapshot(item: Record<string, unknown>): VideoSnapshot {
  const { media, trendAt, ...rest } = SnapshotItem.parse(item);
  return {
    ...rest,
    ...(trendAt !== undefined ? { trendAt } : {}),
    ...(media ? { durationSeconds: media.durationSeconds } : {}),
  };
}
