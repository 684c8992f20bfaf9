import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { UnavailableError } from '#domain/errors';
import type { ProfileChanges, ProfileStore, StoredProfile, ViewRecord } from '#domain/accounts';
import { historySortPrefix, profileKey, userPartition } from './keys.ts';
import { unavailable } from './transient-errors.ts';

/** A profile item as stored; parsed at this boundary so a malformed item fails loudly here. */
const ProfileItem = z.object({
  entity: z.literal('profile'),
  userId: z.string(),
  displayName: z.string().optional(),
  avatarUrl: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** Watch-history items: `sk = VIEW#<iso time>#<videoId>` (written by the views code). */
const VIEW_PREFIX = historySortPrefix;

/** DynamoDB allows 25 requests per BatchWriteItem. */
const BATCH = 25;

/** `ProfileStore` on the single table: the user's partition `USER#<userId>` (see `keys.ts`). */
export class DynamoProfileStore implements ProfileStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(userId: string): Promise<StoredProfile | undefined> {
    const { Item } = await this.client
      .send(new GetCommand({ TableName: this.tableName, Key: profileKey(userId), ConsistentRead: true }))
      .catch(unavailable('the video table'));
    return Item ? toProfile(Item) : undefined;
  }

  async create(profile: StoredProfile): Promise<StoredProfile> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...profileKey(profile.userId), entity: 'profile', ...profile },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return profile;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) return unavailable('the video table')(error);
      // Two first reads raced: the other one created it.
      const stored = await this.get(profile.userId);
      if (!stored) throw new Error(`profile of ${profile.userId} vanished while it was being created`, { cause: error });
      return stored;
    }
  }

  /** One update from an allow-list of fields; `createdAt` is set only if the item is new. */
  async update(userId: string, changes: ProfileChanges, now: string): Promise<StoredProfile> {
    const names: Record<string, string> = {
      '#entity': 'entity',
      '#userId': 'userId',
      '#createdAt': 'createdAt',
      '#updatedAt': 'updatedAt',
    };
    const values: Record<string, unknown> = { ':entity': 'profile', ':userId': userId, ':now': now };
    const sets = ['#entity = :entity', '#userId = :userId', '#createdAt = if_not_exists(#createdAt, :now)', '#updatedAt = :now'];
    const removes: string[] = [];
    if (changes.displayName !== undefined) {
      names['#displayName'] = 'displayName';
      values[':displayName'] = changes.displayName;
      sets.push('#displayName = :displayName');
    }
    if (changes.avatarUrl !== undefined) {
      names['#avatarUrl'] = 'avatarUrl';
      if (changes.avatarUrl === null) {
        removes.push('#avatarUrl');
      } else {
        values[':avatarUrl'] = changes.avatarUrl;
        sets.push('#avatarUrl = :avatarUrl');
      }
    }
    const { Attributes } = await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: profileKey(userId),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      )
      .catch(unavailable('the video table'));
    return toProfile(Attributes ?? {});
  }

  async views(userId: string): Promise<ViewRecord[]> {
    const views: ViewRecord[] = [];
    for await (const item of this.items(userId, VIEW_PREFIX)) {
      const rest = String(item['sk']).slice(VIEW_PREFIX.length);
      const split = rest.lastIndexOf('#');
      if (split <= 0) continue;
      views.push({ at: rest.slice(0, split), videoId: rest.slice(split + 1) });
    }
    return views;
  }

  async purge(userId: string): Promise<number> {
    let removed = 0;
    let keys: Record<string, unknown>[] = [];
    for await (const item of this.items(userId)) {
      keys.push({ pk: item['pk'], sk: item['sk'] });
      if (keys.length === BATCH) {
        await this.deleteAll(keys);
        removed += keys.length;
        keys = [];
      }
    }
    if (keys.length) {
      await this.deleteAll(keys);
      removed += keys.length;
    }
    return removed;
  }

  /** Every item of the partition (keys only), optionally under a sort-key prefix, in order. */
  private async *items(userId: string, prefix?: string): AsyncGenerator<Record<string, unknown>> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client
        .send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: prefix ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk',
            ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
            ExpressionAttributeValues: { ':pk': userPartition(userId), ...(prefix ? { ':prefix': prefix } : {}) },
            ProjectionExpression: '#pk, #sk',
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        )
        .catch(unavailable('the video table'));
      yield* page.Items ?? [];
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** Deletes up to 25 keys, resending what DynamoDB leaves unprocessed (with a short backoff). */
  private async deleteAll(keys: Record<string, unknown>[]): Promise<void> {
    let pending = keys.map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        if (attempt > 8) throw new UnavailableError('the video table kept leaving deletes unprocessed; retry the account deletion');
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
      const { UnprocessedItems } = await this.client
        .send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }))
        .catch(unavailable('the video table'));
      pending = (UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
    }
  }
}

function toProfile(item: Record<string, unknown>): StoredProfile {
  const { entity: _entity, ...profile } = ProfileItem.parse(item);
  return profile;
}
