import {
  CloudFrontKeyValueStoreClient,
  ConflictException,
  DescribeKeyValueStoreCommand,
  PutKeyCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PlaybackPaths } from '#contracts/playback';
import { handler } from '#handlers/events/sync-playback-key';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:PlaybackKey-AbCdEf';
const KVS_ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-0000-4000-8000-000000000000';
const KEY = 'k'.repeat(64);

const secrets = mockClient(SecretsManagerClient);
const kvs = mockClient(CloudFrontKeyValueStoreClient);

beforeAll(() => {
  process.env['AWS_REGION'] ??= 'eu-west-1';
});

beforeEach(() => {
  secrets.reset();
  kvs.reset();
  secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ kid: '1', key: KEY }) });
  kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'ETAG-1', KvsARN: KVS_ARN, ItemCount: 0, TotalSizeInBytes: 0, Created: new Date() });
  kvs.on(PutKeyCommand).resolves({ ETag: 'ETAG-2', ItemCount: 1, TotalSizeInBytes: 80 });
});

const base = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  ResponseURL: 'https://cloudformation-custom-resource-response.example/',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Vodstack-Api/1',
  RequestId: 'req-1',
  LogicalResourceId: 'DeliveryPlaybackKeysSync',
  ResourceType: 'Custom::PlaybackKeySync',
  ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider', SecretId: SECRET_ARN, KeyValueStoreArn: KVS_ARN },
} as const;

const create = (): CloudFormationCustomResourceEvent => ({ ...base, RequestType: 'Create' });

describe('sync-playback-key custom resource', () => {
  it('copies the secret into the KeyValueStore as playback-key-{kid}, conditional on the store ETag', async () => {
    const result = await handler(create());

    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: SECRET_ARN }]);
    expect(kvs.commandCalls(DescribeKeyValueStoreCommand).map((c) => c.args[0].input)).toEqual([{ KvsARN: KVS_ARN }]);
    expect(kvs.commandCalls(PutKeyCommand).map((c) => c.args[0].input)).toEqual([
      { KvsARN: KVS_ARN, Key: `${PlaybackPaths.kvsKeyPrefix}1`, Value: KEY, IfMatch: 'ETAG-1' },
    ]);
    expect(result).toEqual({ PhysicalResourceId: `${KVS_ARN}#playback-key-1`, Data: { Kid: '1', KeyName: 'playback-key-1' } });
  });

  it('writes the key of a new kid on update', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ kid: '2', key: KEY }) });
    const result = await handler({
      ...base,
      RequestType: 'Update',
      PhysicalResourceId: `${KVS_ARN}#playback-key-1`,
      OldResourceProperties: base.ResourceProperties,
    });
    expect(kvs.commandCalls(PutKeyCommand)[0]!.args[0].input).toMatchObject({ Key: 'playback-key-2', Value: KEY });
    expect(result.PhysicalResourceId).toBe(`${KVS_ARN}#playback-key-2`);
  });

  it('retries with a fresh ETag when another writer changed the store in between', async () => {
    kvs
      .on(DescribeKeyValueStoreCommand)
      .resolvesOnce({ ETag: 'ETAG-1' })
      .resolvesOnce({ ETag: 'ETAG-3' });
    kvs
      .on(PutKeyCommand)
      .rejectsOnce(new ConflictException({ message: 'ETag mismatch', $metadata: {} }))
      .resolves({ ETag: 'ETAG-4' });

    await handler(create());

    expect(kvs.commandCalls(PutKeyCommand).map((c) => c.args[0].input.IfMatch)).toEqual(['ETAG-1', 'ETAG-3']);
  });

  it('fails the deployment when the secret is not a playback key, without echoing its value', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ kid: 'Not Valid!', key: 'short-secret-value' }) });

    const failure = handler(create());

    await expect(failure).rejects.toThrow(/not a playback key: kid: .*key: /);
    await expect(failure).rejects.not.toThrow(/short-secret-value/);
    expect(kvs.commandCalls(PutKeyCommand)).toHaveLength(0);
  });

  it('leaves the store alone on delete', async () => {
    const result = await handler({ ...base, RequestType: 'Delete', PhysicalResourceId: `${KVS_ARN}#playback-key-1` });

    expect(result).toEqual({ PhysicalResourceId: `${KVS_ARN}#playback-key-1` });
    expect(secrets.calls()).toHaveLength(0);
    expect(kvs.calls()).toHaveLength(0);
  });

  it('rejects properties without a KeyValueStore ARN', async () => {
    await expect(handler({ ...create(), ResourceProperties: { ...base.ResourceProperties, KeyValueStoreArn: '' } })).rejects.toThrow();
    expect(secrets.calls()).toHaveLength(0);
  });
});

describe('the KeyValueStore client in the bundle', () => {
  it('signs with SigV4a, which the handler registers by importing @aws-sdk/signature-v4a', async () => {
    kvs.restore();
    let authorization: string | undefined;
    const client = new CloudFrontKeyValueStoreClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      requestHandler: {
        handle: async (request: { headers: Record<string, string> }) => {
          authorization = request.headers['authorization'];
          throw new Error('captured');
        },
      } as never,
    });
    await expect(client.send(new DescribeKeyValueStoreCommand({ KvsARN: KVS_ARN }))).rejects.toThrow('captured');
    expect(authorization).toMatch(/^AWS4-ECDSA-P256-SHA256 /);
  });
});
