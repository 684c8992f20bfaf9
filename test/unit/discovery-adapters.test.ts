import { ConditionalCheckFailedException, DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CO_VIEW_TTL_SECONDS, DynamoViewStore } from '#adapters/dynamo-view-store';
import { UnavailableError } from '#domain/errors';

const TABLE = 'videos';
const dynamo = mockClient(DynamoDBDocumentClient);
const store = new DynamoViewStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })), TABLE);

const conditionFailed = (item?: Record<string, unknown>) =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, ...(item ? { Item: item as never } : {}) });

beforeEach(() => {
  dynamo.reset();
});

describe('DynamoViewStore', () => {
  it('claims a view with a conditional put of an expiring mark, once', async () => {
    dynamo.on(PutCommand).resolvesOnce({}).rejectsOnce(conditionFailed());
    const hour = Date.parse('2025-03-01T10:00:00Z');
    expect(await store.claimView('vid00000001', 'session:abc', hour, hour + 7_200_500)).toBe(true);
    expect(await store.claimView('vid00000001', 'session:abc', hour, hour + 7_200_500)).toBe(false);
    const input = dynamo.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      TableName: TABLE,
      Item: { pk: `VIEW#vid00000001#session:abc#${hour}`, sk: 'VIEW', entity: 'view-mark', expiresAt: Math.ceil((hour + 7_200_500) / 1000) },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('maps throttling to UnavailableError', async () => {
    dynamo.on(PutCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    await expect(store.claimView('vid00000001', 'user:u', 0, 1)).rejects.toThrow(UnavailableError);
  });

  it('adds a view conditional on the trend timestamp, and tells a lost race from a deleted video', async () => {
    dynamo
      .on(UpdateCommand)
      .resolvesOnce({ Attributes: { views: 4, trend: 2.5, trendAt: 2000 } })
      .rejectsOnce(conditionFailed({ pk: { S: 'VIDEO#vid00000001' } }))
      .rejectsOnce(conditionFailed());
    expect(await store.addView('vid00000001', { trend: 2.5, trendAt: 2000 }, 1000)).toEqual({ views: 4, trend: 2.5, trendAt: 2000 });
    expect(await store.addView('vid00000001', { trend: 1, trendAt: 2000 }, undefined)).toBe('conflict');
    expect(await store.addView('vid00000001', { trend: 1, trendAt: 2000 }, undefined)).toBeUndefined();
    const [first, second] = dynamo.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(first).toMatchObject({
      Key: { pk: 'VIDEO#vid00000001', sk: 'VIDEO' },
      UpdateExpression: 'ADD #views :one SET #trend = :trend, #trendAt = :trendAt',
      ConditionExpression: 'attribute_exists(pk) AND #trendAt = :expect',
      ExpressionAttributeValues: { ':one': 1, ':trend': 2.5, ':trendAt': 2000, ':expect': 1000 },
    });
    expect(second!.ConditionExpression).toBe('attribute_exists(pk) AND attribute_not_exists(#trendAt)');
  });

  it("reads a user's history newest first from their partition", async () => {
    dynamo.on(QueryCommand).resolves({ Items: [{ videoId: 'vid00000002', at: '2025-03-01T10:00:01.000Z' }] });
    expect(await store.history('u1', 5)).toEqual([{ videoId: 'vid00000002', at: '2025-03-01T10:00:01.000Z' }]);
    expect(dynamo.commandCalls(QueryCommand)[0]!.args[0].input).toMatchObject({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': 'USER#u1', ':prefix': 'VIEW#' },
      ScanIndexForward: false,
      Limit: 5,
    });
  });

  it('writes a history row keyed by time and video', async () => {
    dynamo.on(PutCommand).resolves({});
    await store.addHistory('u1', 'vid00000002', new Date('2025-03-01T10:00:01.000Z'));
    expect(dynamo.commandCalls(PutCommand)[0]!.args[0].input.Item).toEqual({
      pk: 'USER#u1',
      sk: 'VIEW#2025-03-01T10:00:01.000Z#vid00000002',
      entity: 'view',
      userId: 'u1',
      videoId: 'vid00000002',
      at: '2025-03-01T10:00:01.000Z',
    });
  });

  it('counts co-views in both directions and ranks them by count', async () => {
    dynamo.on(UpdateCommand).resolves({});
    await store.addCoViews('vid0000000a', ['vid0000000b', 'vid0000000c']);
    const keys = dynamo.commandCalls(UpdateCommand).map((c) => c.args[0].input.Key);
    expect(keys).toEqual([
      { pk: 'VIDEO#vid0000000a', sk: 'COVIEW#vid0000000b' },
      { pk: 'VIDEO#vid0000000b', sk: 'COVIEW#vid0000000a' },
      { pk: 'VIDEO#vid0000000a', sk: 'COVIEW#vid0000000c' },
      { pk: 'VIDEO#vid0000000c', sk: 'COVIEW#vid0000000a' },
    ]);
    const update = dynamo.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(update.UpdateExpression).toContain('ADD #count :one');
    // Pairs expire (TTL) half a year after they were last counted.
    expect(update.ExpressionAttributeValues![':expiresAt']).toBeGreaterThan(Date.now() / 1000 + CO_VIEW_TTL_SECONDS - 60);
    dynamo.on(QueryCommand).resolves({
      Items: [
        { otherId: 'vid0000000b', count: 1 },
        { otherId: 'vid0000000c', count: 3 },
        { otherId: 'vid0000000d', count: 2 },
      ],
    });
    expect(await store.coViewed('vid0000000a', 2)).toEqual([
      { videoId: 'vid0000000c', count: 3 },
      { videoId: 'vid0000000d', count: 2 },
    ]);
  });

  it('reads snapshots with consistent batch reads, retrying unprocessed keys', async () => {
    const item = {
      id: 'vid00000001',
      ownerId: 'u1',
      title: 'T',
      description: '',
      tags: ['a'],
      visibility: 'public',
      status: 'ready',
      createdAt: '2025-01-01T00:00:00.000Z',
      media: { durationSeconds: 12.5 },
      views: 3,
      trend: 1.5,
      trendAt: 99,
    };
    dynamo
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { [TABLE]: [{ ...item, id: 'vid00000002', media: undefined, views: undefined, trend: undefined, trendAt: undefined }] },
        UnprocessedKeys: { [TABLE]: { Keys: [{ pk: 'VIDEO#vid00000001', sk: 'VIDEO' }] } },
      })
      .resolvesOnce({ Responses: { [TABLE]: [item] } });
    const snapshots = await store.snapshots(['vid00000001', 'vid00000002', 'vid00000001']);
    expect(snapshots).toEqual([
      { id: 'vid00000002', ownerId: 'u1', title: 'T', description: '', tags: ['a'], visibility: 'public', status: 'ready', createdAt: item.createdAt, views: 0, trend: 0 },
      { id: 'vid00000001', ownerId: 'u1', title: 'T', description: '', tags: ['a'], visibility: 'public', status: 'ready', createdAt: item.createdAt, durationSeconds: 12.5, views: 3, trend: 1.5, trendAt: 99 },
    ]);
    const [first, retry] = dynamo.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems![TABLE]!);
    expect(first!.Keys).toHaveLength(2);
    expect(first!.ConsistentRead).toBe(true);
    expect(retry!.Keys).toEqual([{ pk: 'VIDEO#vid00000001', sk: 'VIDEO' }]);
    expect(first!.ProjectionExpression).toContain('#media.#duration');
  });

  it("forgets a deleted video's co-views in both directions", async () => {
    dynamo.on(QueryCommand).resolves({ Items: [{ otherId: 'vid0000000b', count: 2 }] });
    dynamo.on(BatchWriteCommand).resolves({});
    await store.forgetVideo('vid0000000a');
    expect(dynamo.commandCalls(BatchWriteCommand)[0]!.args[0].input.RequestItems![TABLE]).toEqual([
      { DeleteRequest: { Key: { pk: 'VIDEO#vid0000000a', sk: 'COVIEW#vid0000000b' } } },
      { DeleteRequest: { Key: { pk: 'VIDEO#vid0000000b', sk: 'COVIEW#vid0000000a' } } },
    ]);
  });
});
