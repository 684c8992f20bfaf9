import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import {
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  ListUserPoolClientsCommand,
  ListUserPoolsCommand,
  type ExplicitAuthFlowsType,
} from '@aws-sdk/client-cognito-identity-provider';
import { localName, physicalKey, resourcesOfType, type PhysicalIds, type SynthesizedStack } from './template.ts';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const region = 'us-east-1';

/** Buckets the template declares, with the local names they get. */
export function bucketsOf(stacks: SynthesizedStack[], physical: PhysicalIds) {
  return resourcesOfType(stacks, 'AWS::S3::Bucket').map(({ stack, logicalId, resource }) => {
    const given = resource.Properties?.['BucketName'];
    const name = typeof given === 'string' ? given : localName(logicalId);
    physical.set(physicalKey(stack, logicalId), name);
    return { name, cors: resource.Properties?.['CorsConfiguration'] !== undefined, logicalId };
  });
}

/** Creates (once) every DynamoDB table the template declares, with its keys, indexes, stream and TTL. */
export async function provisionTables(stacks: SynthesizedStack[], physical: PhysicalIds, endpoint: string) {
  const client = new DynamoDBClient({ endpoint, region, credentials });
  const tables = [
    ...resourcesOfType(stacks, 'AWS::DynamoDB::GlobalTable'),
    ...resourcesOfType(stacks, 'AWS::DynamoDB::Table'),
  ];
  for (const { stack, logicalId, resource } of tables) {
    const p = resource.Properties ?? {};
    const name = typeof p['TableName'] === 'string' ? p['TableName'] : localName(logicalId);
    physical.set(physicalKey(stack, logicalId), name);
    try {
      await client.send(new DescribeTableCommand({ TableName: name }));
      continue;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    const gsis = (p['GlobalSecondaryIndexes'] as Record<string, unknown>[] | undefined)?.map(
      (g): GlobalSecondaryIndex => ({
        IndexName: g['IndexName'] as string,
        KeySchema: g['KeySchema'] as KeySchemaElement[],
        Projection: g['Projection'] as GlobalSecondaryIndex['Projection'],
      }),
    );
    const stream = p['StreamSpecification'] as { StreamViewType?: string } | undefined;
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: p['KeySchema'] as KeySchemaElement[],
        AttributeDefinitions: p['AttributeDefinitions'] as AttributeDefinition[],
        ...(gsis?.length ? { GlobalSecondaryIndexes: gsis } : {}),
        ...(stream?.StreamViewType
          ? { StreamSpecification: { StreamEnabled: true, StreamViewType: stream.StreamViewType as 'NEW_AND_OLD_IMAGES' } }
          : {}),
      }),
    );
    const ttl = p['TimeToLiveSpecification'] as { AttributeName?: string; Enabled?: boolean } | undefined;
    if (ttl?.Enabled && ttl.AttributeName) {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
        }),
      );
    }
  }
  client.destroy();
}

/** Creates (once) the user pools and app clients the template declares, matched by logical id. */
export async function provisionUserPools(stacks: SynthesizedStack[], physical: PhysicalIds, endpoint: string) {
  const client = new CognitoIdentityProviderClient({ endpoint, region, credentials });
  const existing = (await client.send(new ListUserPoolsCommand({ MaxResults: 60 }))).UserPools ?? [];
  for (const { stack, logicalId, resource } of resourcesOfType(stacks, 'AWS::Cognito::UserPool')) {
    const p = resource.Properties ?? {};
    let id = existing.find((pool) => pool.Name === logicalId)?.Id;
    if (!id) {
      const created = await client.send(
        new CreateUserPoolCommand({
          PoolName: logicalId,
          UsernameAttributes: p['UsernameAttributes'] as ('email' | 'phone_number')[] | undefined,
          AutoVerifiedAttributes: p['AutoVerifiedAttributes'] as ('email' | 'phone_number')[] | undefined,
          Policies: p['Policies'] as never,
        }),
      );
      id = created.UserPool?.Id;
    }
    if (!id) throw new Error(`could not create user pool ${logicalId}`);
    physical.set(physicalKey(stack, logicalId), id);
  }
  for (const { stack, logicalId, resource } of resourcesOfType(stacks, 'AWS::Cognito::UserPoolClient')) {
    const p = resource.Properties ?? {};
    const poolRef = (p['UserPoolId'] as { Ref?: string } | undefined)?.Ref;
    const poolId = poolRef ? physical.get(physicalKey(stack, poolRef)) : undefined;
    if (!poolId) throw new Error(`user pool client ${logicalId} has no local user pool`);
    const clients = (await client.send(new ListUserPoolClientsCommand({ UserPoolId: poolId, MaxResults: 60 }))).UserPoolClients ?? [];
    let id = clients.find((c) => c.ClientName === logicalId)?.ClientId;
    if (!id) {
      const created = await client.send(
        new CreateUserPoolClientCommand({
          UserPoolId: poolId,
          ClientName: logicalId,
          ExplicitAuthFlows: p['ExplicitAuthFlows'] as ExplicitAuthFlowsType[] | undefined,
        }),
      );
      id = created.UserPoolClient?.ClientId;
    }
    if (!id) throw new Error(`could not create user pool client ${logicalId}`);
    physical.set(physicalKey(stack, logicalId), id);
  }
  client.destroy();
}
