import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { VideoStatus, Visibility } from '#contracts/api';
import { ConflictError, NotFoundError } from '#domain/errors';
import type { VideoRepository } from '#domain/ports';
import type { Video } from '#domain/video';
import { unavailable } from './transient-errors.ts';
import { videoKey, videoOwnerIndexKey } from './keys.ts';

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
  progress: z.object({ done: z.number(), total: z.number() }).optional(),
  failure: z.object({ code: z.string(), message: z.string() }).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** Fields a status transition may change besides the status; nothing else reaches the update. */
const TRANSITION_FIELDS = ['failure', 'progress', 'generation'] as const;

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
    changes: Partial<Pick<Video, 'failure' | 'progress' | 'generation'>> = {},
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
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: videoKey(id),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `attribute_exists(pk) AND #status IN (${fromNames.join(', ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return toVideo(Attributes ?? {});
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        if (!error.Item) throw new NotFoundError(`no video ${id}`, { cause: error });
        throw new ConflictError(`video ${id} is no longer ${from.join(' or ')}`, { cause: error });
      }
      return unavailable('the video table')(error);
    }
  }
}

function toVideo(item: Record<string, unknown>): Video {
  const { entity: _entity, ...video } = VideoItem.parse(item);
  return video;
}
