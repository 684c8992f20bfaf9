import { AdminDeleteUserCommand, CognitoIdentityProviderClient, UserNotFoundException } from '@aws-sdk/client-cognito-identity-provider';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CognitoUserAdmin } from '#adapters/cognito-user-admin';
import { DynamoProfileStore } from '#adapters/dynamo-profile-store';
import { DynamoVideoRepository } from '#adapters/dynamo-video-repository';
import { UnavailableError } from '#domain/errors';

const TABLE = 'videos';
const dynamo = mockClient(DynamoDBDocumentClient);
const cognito = mockClient(CognitoIdentityProviderClient);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const store = new DynamoProfileStore(documents, TABLE);

beforeEach(() => {
  dynamo.reset();
  cognito.reset();
});

const stored = { pk: 'USER#u1', sk: 'PROFILE', entity: 'profile', userId: 'u1', createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z' };

describe('DynamoProfileStore', () => {
  it('reads the profile strongly consistently from USER#<id> / PROFILE', async () => {
    dynamo.on(GetCommand).resolves({ Item: stored });

    expect(await store.get('u1')).toEqual({ userId: 'u1', createdAt: stored.createdAt, updatedAt: stored.updatedAt });
    expect(dynamo.commandCalls(GetCommand)[0]!.args[0].input).toMatchObject({ Key: { pk: 'USER#u1', sk: 'PROFILE' }, ConsistentRead: true });
  });

  it('creates only if absent, and returns the stored profile when a concurrent first read won', async () => {
    dynamo.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    dynamo.on(GetCommand).resolves({ Item: { ...stored, displayName: 'Winner' } });

    const profile = await store.create({ userId: 'u1', createdAt: 'later', updatedAt: 'later' });

    expect(profile).toMatchObject({ displayName: 'Winner', createdAt: stored.createdAt });
    expect(dynamo.commandCalls(PutCommand)[0]!.args[0].input).toMatchObject({
      Item: { pk: 'USER#u1', sk: 'PROFILE', entity: 'profile' },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('updates from an allow-list: sets the name, removes the avatar, keeps the creation time', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: { ...stored, displayName: 'A' } });

    await store.update('u1', { displayName: 'A', avatarUrl: null }, '2025-02-01T00:00:00.000Z');

    const input = dynamo.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.Key).toEqual({ pk: 'USER#u1', sk: 'PROFILE' });
    expect(input.UpdateExpression).toBe(
      'SET #entity = :entity, #userId = :userId, #createdAt = if_not_exists(#createdAt, :now), #updatedAt = :now, #displayName = :displayName REMOVE #avatarUrl',
    );
    expect(input.ExpressionAttributeValues).toEqual({ ':entity': 'profile', ':userId': 'u1', ':now': '2025-02-01T00:00:00.000Z', ':displayName': 'A' });
  });

  it('reads the watch history from VIEW#<time>#<videoId> sort keys, across pages', async () => {
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [{ pk: 'USER#u1', sk: 'VIEW#2025-01-01T10:00:00.000Z#vid00000001' }], LastEvaluatedKey: { pk: 'USER#u1', sk: 'x' } })
      .resolvesOnce({ Items: [{ pk: 'USER#u1', sk: 'VIEW#2025-01-02T10:00:00.000Z#vid-0000_002' }] });

    expect(await store.views('u1')).toEqual([
      { videoId: 'vid00000001', at: '2025-01-01T10:00:00.000Z' },
      { videoId: 'vid-0000_002', at: '2025-01-02T10:00:00.000Z' },
    ]);
    const first = dynamo.commandCalls(QueryCommand)[0]!.args[0].input;
    expect(first).toMatchObject({ KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)', ConsistentRead: true });
    expect(first.ExpressionAttributeValues).toEqual({ ':pk': 'USER#u1', ':prefix': 'VIEW#' });
  });

  it('purges the whole partition in batches of 25, resending unprocessed deletes', async () => {
    const items = Array.from({ length: 30 }, (_, i) => ({ pk: 'USER#u1', sk: `VIEW#t${i}#v` }));
    dynamo.on(QueryCommand).resolves({ Items: items });
    dynamo
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { [TABLE]: [{ DeleteRequest: { Key: items[0]! } }] } })
      .resolves({});

    expect(await store.purge('u1')).toBe(30);

    const batches = dynamo.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems![TABLE]!.length);
    expect(batches).toEqual([25, 1, 5]);
    expect(dynamo.commandCalls(QueryCommand)[0]!.args[0].input).toMatchObject({ KeyConditionExpression: '#pk = :pk' });
  });
});

describe('DynamoVideoRepository.edit with a poster', () => {
  it('sets media.poster by its nested path, on the ready video of its owner only', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: undefined });
    const repository = new DynamoVideoRepository(documents, TABLE);

    await repository.edit('vid00000001', { poster: 'videos/vid00000001/thumbs/candidate-1.jpg' }, { ownerId: 'u1', notIn: ['processing'] }).catch(() => undefined);

    const input = dynamo.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.UpdateExpression).toContain('#media.#poster = :poster');
    expect(input.ExpressionAttributeNames).toMatchObject({ '#media': 'media', '#poster': 'poster' });
    expect(input.ExpressionAttributeValues![':poster']).toBe('videos/vid00000001/thumbs/candidate-1.jpg');
    expect(input.ConditionExpression).toBe('attribute_exists(pk) AND #ownerId = :ownerId AND NOT (#status IN (:notIn0))');
  });
});

describe('DynamoVideoRepository.remove', () => {
  it("deletes the rest of the video's partition (co-view counters) once the item is gone, and only then", async () => {
    const repository = new DynamoVideoRepository(documents, TABLE);
    dynamo.on(DeleteCommand).resolves({});
    dynamo.on(QueryCommand).resolves({ Items: [{ pk: 'VIDEO#vid00000001', sk: 'COVIEW#vid00000002' }] });
    dynamo.on(BatchWriteCommand).resolves({});

    await repository.remove('vid00000001', 'u1');

    expect(dynamo.commandCalls(QueryCommand)[0]!.args[0].input.ExpressionAttributeValues).toEqual({ ':pk': 'VIDEO#vid00000001' });
    expect(dynamo.commandCalls(BatchWriteCommand)[0]!.args[0].input.RequestItems![TABLE]).toEqual([
      { DeleteRequest: { Key: { pk: 'VIDEO#vid00000001', sk: 'COVIEW#vid00000002' } } },
    ]);
    expect(dynamo.calls().map((c) => c.args[0].constructor.name)).toEqual(['DeleteCommand', 'QueryCommand', 'BatchWriteCommand']);
  });
});

describe('CognitoUserAdmin', () => {
  const admin = new CognitoUserAdmin(new CognitoIdentityProviderClient({ region: 'eu-west-1' }), 'eu-west-1_pool');

  it('deletes the user by sub in the pool, and treats a user already gone as done', async () => {
    cognito.on(AdminDeleteUserCommand).resolvesOnce({}).rejectsOnce(new UserNotFoundException({ message: 'gone', $metadata: {} }));

    await admin.deleteUser('sub-1');
    await admin.deleteUser('sub-1');

    expect(cognito.commandCalls(AdminDeleteUserCommand)[0]!.args[0].input).toEqual({ UserPoolId: 'eu-west-1_pool', Username: 'sub-1' });
  });

  it('maps throttling to UnavailableError', async () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    cognito.on(AdminDeleteUserCommand).rejects(throttled);

    await expect(admin.deleteUser('sub-1')).rejects.toBeInstanceOf(UnavailableError);
  });
});
