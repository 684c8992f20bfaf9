import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient, type Credentials } from '@aws-sdk/client-sts';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { isThrottlingError } from '@smithy/service-error-classification';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy } from '../../local/faults.ts';
import { startLocalKms, type LocalKms } from '../../local/kms.ts';
import { bucketsOf } from '../../local/provision.ts';
import { startLocalS3, type LocalS3 } from '../../local/s3.ts';
import { startLocalSts, type LocalSession, type LocalSts } from '../../local/sts.ts';
import type { PhysicalIds, SynthesizedStack } from '../../local/template.ts';

/**
 * Per-video credentials end to end on the local stand-ins: STS issues a session tagged with a
 * video id, the local S3 authenticates it and enforces the role's `${aws:PrincipalTag/videoId}`
 * policy, and KMS seals the credentials under an encryption context. The stacks are written here
 * in the shape CDK synthesizes (grants joined onto bucket ARNs), so the test does not depend on
 * what the pipeline stack declares today.
 */
const bucketArn = (logicalId: string, suffix = '') =>
  suffix === '' ? { 'Fn::GetAtt': [logicalId, 'Arn'] } : { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId, 'Arn'] }, suffix]] };

const stacks: SynthesizedStack[] = [
  {
    name: 'Identity',
    template: {
      Resources: {
        RawBucket: { Type: 'AWS::S3::Bucket' },
        MediaBucket: { Type: 'AWS::S3::Bucket' },
        CredentialsKey: { Type: 'AWS::KMS::Key' },
        CredentialsKeyAlias: { Type: 'AWS::KMS::Alias', Properties: { AliasName: 'alias/media-worker', TargetKeyId: { 'Fn::GetAtt': ['CredentialsKey', 'Arn'] } } },
        GrantRole: { Type: 'AWS::IAM::Role' },
        MediaWorkerRole: {
          Type: 'AWS::IAM::Role',
          Properties: {
            AssumeRolePolicyDocument: {
              Statement: [
                {
                  Effect: 'Allow',
                  Action: ['sts:AssumeRole', 'sts:TagSession'],
                  Principal: { AWS: { 'Fn::GetAtt': ['GrantRole', 'Arn'] } },
                  Condition: { StringLike: { 'aws:RequestTag/videoId': '?*' }, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['videoId'] } },
                },
              ],
            },
          },
        },
        MediaWorkerRoleDefaultPolicy: {
          Type: 'AWS::IAM::Policy',
          Properties: {
            Roles: [{ Ref: 'MediaWorkerRole' }],
            PolicyDocument: {
              Statement: [
                { Effect: 'Allow', Action: 's3:GetObject', Resource: bucketArn('RawBucket', '/uploads/${aws:PrincipalTag/videoId}/*') },
                {
                  Effect: 'Allow',
                  Action: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
                  Resource: bucketArn('MediaBucket', '/videos/${aws:PrincipalTag/videoId}/*'),
                },
                {
                  Effect: 'Allow',
                  Action: 's3:ListBucket',
                  Resource: bucketArn('MediaBucket'),
                  Condition: { StringLike: { 's3:prefix': ['videos/${aws:PrincipalTag/videoId}/*'] } },
                },
                // A key of another service: cannot be resolved here, so it grants nothing.
                { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': ['NotHere', 'Arn'] } },
              ],
            },
          },
        },
      },
    },
  },
];

const ROLE_ARN = 'arn:aws:iam::000000000000:role/Identity-MediaWorkerRole';
const RAW = 'vodstack-rawbucket';
const MEDIA = 'vodstack-mediabucket';
const ROOT = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

let directory: string;
let physical: PhysicalIds;
let sts: LocalSts;
let s3: LocalS3;
let kms: LocalKms;
let root: S3Client;
let stsClient: STSClient;
/** Session keys the local S3 treats as expired (ExpiredToken), without waiting out 15 minutes. */
const aged = new Set<string>();

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'local-identity-'));
  physical = new Map();
  const buckets = bucketsOf(stacks, physical);
  sts = await startLocalSts({ stacks, physical });
  s3 = await startLocalS3({
    directory: path.join(directory, 's3'),
    buckets: buckets.map(({ name }) => ({ name })),
    sessions: {
      find: (accessKeyId): LocalSession | undefined => {
        const session = sts.sessions.find(accessKeyId);
        return session && aged.has(accessKeyId) ? { ...session, expiresAt: new Date(Date.now() - 1000) } : session;
      },
    },
  });
  kms = await startLocalKms({ stacks, physical, file: path.join(directory, 'kms', 'keys.json') });
  root = new S3Client(s3.clientConfig);
  stsClient = new STSClient({ endpoint: sts.endpoint, region: 'us-east-1', credentials: ROOT });
  for (const key of ['uploads/A/source', 'uploads/B/source']) {
    await root.send(new PutObjectCommand({ Bucket: RAW, Key: key, Body: `source of ${key}` }));
  }
  await root.send(new PutObjectCommand({ Bucket: MEDIA, Key: 'videos/B/master.m3u8', Body: '#EXTM3U' }));
});

afterAll(async () => {
  root?.destroy();
  stsClient?.destroy();
  await s3?.close();
  await sts?.stop();
  await kms?.stop();
  await rm(directory, { recursive: true, force: true });
});

async function assumeFor(videoId: string, extra: { DurationSeconds?: number } = {}): Promise<Credentials> {
  const answer = await stsClient.send(
    new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: `video-${videoId}`, Tags: [{ Key: 'videoId', Value: videoId }], ...extra }),
  );
  return answer.Credentials!;
}

function clientWith(credentials: Credentials, overrides: Partial<{ sessionToken: string }> = {}): S3Client {
  return new S3Client({
    ...s3.clientConfig,
    credentials: {
      accessKeyId: credentials.AccessKeyId!,
      secretAccessKey: credentials.SecretAccessKey!,
      sessionToken: credentials.SessionToken!,
      ...overrides,
    },
  });
}

/** The S3 error a call ends with: its code and HTTP status. */
async function failure(call: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  const error = await call.then(
    () => expect.fail('the call succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(S3ServiceException);
  const { name, $metadata } = error as S3ServiceException;
  return { code: name, status: $metadata.httpStatusCode };
}

type SdkError = Parameters<typeof isThrottlingError>[0];

const text = async (answer: { Body?: { transformToString(): Promise<string> } }) => answer.Body!.transformToString();

describe('a session scoped to one video on the local S3', () => {
  let worker: S3Client;
  let credentials: Credentials;

  beforeAll(async () => {
    credentials = await assumeFor('A');
    worker = clientWith(credentials);
  });
  afterAll(() => worker?.destroy());

  it('answers AssumeRole with temporary credentials and the assumed role, as STS does', async () => {
    const answer = await stsClient.send(
      new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'video-A', DurationSeconds: 900, Tags: [{ Key: 'videoId', Value: 'A' }] }),
    );
    expect(answer.Credentials!.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(answer.Credentials!.SecretAccessKey).toHaveLength(40);
    expect(answer.Credentials!.SessionToken!.length).toBeGreaterThan(100);
    const lifetime = answer.Credentials!.Expiration!.getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(880_000);
    expect(lifetime).toBeLessThanOrEqual(900_000);
    expect(answer.AssumedRoleUser!.Arn).toBe('arn:aws:sts::000000000000:assumed-role/Identity-MediaWorkerRole/video-A');
    expect(answer.AssumedRoleUser!.AssumedRoleId).toMatch(/^AROA[A-Z2-7]{17}:video-A$/);
    expect(sts.sessions.find(answer.Credentials!.AccessKeyId!)?.tags).toEqual({ videoId: 'A' });
  });

  it("reads its own video's source and is refused another video's", async () => {
    expect(await text(await worker.send(new GetObjectCommand({ Bucket: RAW, Key: 'uploads/A/source' })))).toBe('source of uploads/A/source');
    expect(await failure(worker.send(new GetObjectCommand({ Bucket: RAW, Key: 'uploads/B/source' })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect((await failure(worker.send(new HeadObjectCommand({ Bucket: RAW, Key: 'uploads/B/source' })))).status).toBe(403);
  });

  it("writes under its own video's media prefix only, and nowhere in the raw bucket", async () => {
    await worker.send(new PutObjectCommand({ Bucket: MEDIA, Key: 'videos/A/x', Body: 'mine' }));
    expect(await text(await root.send(new GetObjectCommand({ Bucket: MEDIA, Key: 'videos/A/x' })))).toBe('mine');
    expect(await failure(worker.send(new PutObjectCommand({ Bucket: MEDIA, Key: 'videos/B/x', Body: 'theirs' })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await failure(worker.send(new PutObjectCommand({ Bucket: RAW, Key: 'uploads/A/other', Body: 'x' })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect((await failure(root.send(new GetObjectCommand({ Bucket: MEDIA, Key: 'videos/B/x' })))).code).toBe('NoSuchKey');
  });

  it("starts and aborts multipart uploads under its own prefix only, and may not delete (the policy grants no s3:DeleteObject)", async () => {
    const { UploadId } = await worker.send(new CreateMultipartUploadCommand({ Bucket: MEDIA, Key: 'videos/A/big.mp4' }));
    await worker.send(new AbortMultipartUploadCommand({ Bucket: MEDIA, Key: 'videos/A/big.mp4', UploadId }));
    expect((await failure(worker.send(new CreateMultipartUploadCommand({ Bucket: MEDIA, Key: 'videos/B/big.mp4' })))).code).toBe('AccessDenied');
    expect((await failure(worker.send(new DeleteObjectCommand({ Bucket: MEDIA, Key: 'videos/A/x' })))).code).toBe('AccessDenied');
  });

  it("lists its own video's prefix, not another's and not the whole bucket", async () => {
    const listed = await worker.send(new ListObjectsV2Command({ Bucket: MEDIA, Prefix: 'videos/A/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['videos/A/x']);
    expect(await failure(worker.send(new ListObjectsV2Command({ Bucket: MEDIA, Prefix: 'videos/B/' })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await failure(worker.send(new ListObjectsV2Command({ Bucket: MEDIA })))).toEqual({ code: 'AccessDenied', status: 403 });
  });

  it('holds a presigned URL made with the session to the same rules', async () => {
    const own = await getSignedUrl(worker, new GetObjectCommand({ Bucket: RAW, Key: 'uploads/A/source' }), { expiresIn: 300 });
    const other = await getSignedUrl(worker, new GetObjectCommand({ Bucket: RAW, Key: 'uploads/B/source' }), { expiresIn: 300 });
    expect(new URL(own).searchParams.get('X-Amz-Security-Token')).toBe(credentials.SessionToken);
    const ok = await fetch(own);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('source of uploads/A/source');
    const refused = await fetch(other);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('<Code>AccessDenied</Code><Message>Access Denied</Message>');
    // The token is part of what was signed: another token is another request.
    const swapped = new URL(own);
    swapped.searchParams.set('X-Amz-Security-Token', 'forged');
    expect((await fetch(swapped)).status).toBe(400);
  });

  it('refuses a wrong or missing session token, and an expired session, with S3\'s codes', async () => {
    const wrong = clientWith(credentials, { sessionToken: 'not-the-token' });
    expect(await failure(wrong.send(new GetObjectCommand({ Bucket: RAW, Key: 'uploads/A/source' })))).toEqual({ code: 'InvalidToken', status: 400 });
    wrong.destroy();
    const tokenless = new S3Client({
      ...s3.clientConfig,
      credentials: { accessKeyId: credentials.AccessKeyId!, secretAccessKey: credentials.SecretAccessKey! },
    });
    expect(await failure(tokenless.send(new GetObjectCommand({ Bucket: RAW, Key: 'uploads/A/source' })))).toEqual({ code: 'InvalidAccessKeyId', status: 403 });
    tokenless.destroy();
    const unknown = new S3Client({ ...s3.clientConfig, credentials: { accessKeyId: 'ASIAUNKNOWNUNKNOWN00', secretAccessKey: 'x', sessionToken: 'y' } });
    expect((await failure(unknown.send(new GetObjectCommand({ Bucket: RAW, Key: 'uploads/A/source' })))).code).toBe('InvalidAccessKeyId');
    unknown.destroy();

    const expiring = await assumeFor('A');
    aged.add(expiring.AccessKeyId!);
    const expired = clientWith(expiring);
    expect(await failure(expired.send(new GetObjectCommand({ Bucket: RAW, Key: 'uploads/A/source' })))).toEqual({ code: 'ExpiredToken', status: 400 });
    expired.destroy();
  });

  it('checks the signature against the session secret', async () => {
    const forged = new S3Client({
      ...s3.clientConfig,
      credentials: { accessKeyId: credentials.AccessKeyId!, secretAccessKey: ROOT.secretAccessKey, sessionToken: credentials.SessionToken! },
    });
    expect((await failure(forged.send(new GetObjectCommand({ Bucket: RAW, Key: 'uploads/A/source' })))).code).toBe('SignatureDoesNotMatch');
    forged.destroy();
  });

  it('leaves the root key its full access', async () => {
    expect(await text(await root.send(new GetObjectCommand({ Bucket: RAW, Key: 'uploads/B/source' })))).toBe('source of uploads/B/source');
    await root.send(new PutObjectCommand({ Bucket: MEDIA, Key: 'videos/C/y', Body: 'root' }));
    expect((await root.send(new ListObjectsV2Command({ Bucket: MEDIA }))).Contents?.map((o) => o.Key)).toContain('videos/C/y');
    await root.send(new DeleteObjectCommand({ Bucket: MEDIA, Key: 'videos/C/y' }));
  });

  it("scopes each session to its own tag: video B's session is refused video A's objects", async () => {
    const other = clientWith(await assumeFor('B'));
    expect(await text(await other.send(new GetObjectCommand({ Bucket: MEDIA, Key: 'videos/B/master.m3u8' })))).toBe('#EXTM3U');
    expect((await failure(other.send(new GetObjectCommand({ Bucket: MEDIA, Key: 'videos/A/x' })))).code).toBe('AccessDenied');
    other.destroy();
  });
});

describe('local STS', () => {
  const stsError = async (call: Promise<unknown>) => {
    const error = (await call.then(
      () => expect.fail('the call succeeded'),
      (e: unknown) => e,
    )) as { name: string; message: string; $metadata: { httpStatusCode?: number } };
    return { code: error.name, status: error.$metadata.httpStatusCode, message: error.message };
  };

  it('refuses a role the templates do not declare with AccessDenied', async () => {
    const refused = await stsError(stsClient.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/nobody', RoleSessionName: 'x1' })));
    expect(refused).toMatchObject({ code: 'AccessDenied', status: 403 });
    expect(refused.message).toContain('sts:AssumeRole on resource: arn:aws:iam::000000000000:role/nobody');
  });

  it("refuses a session the role's trust policy does not allow: without the videoId tag, or with another tag", async () => {
    const untagged = await stsError(stsClient.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'untagged' })));
    expect(untagged).toMatchObject({ code: 'AccessDenied', status: 403 });
    const extra = await stsError(
      stsClient.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'extra', Tags: [{ Key: 'videoId', Value: 'A' }, { Key: 'admin', Value: 'yes' }] })),
    );
    expect(extra).toMatchObject({ code: 'AccessDenied', status: 403 });
    // The grant function's role trusts no one: only a service could assume it.
    const grantRole = await stsError(stsClient.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/Identity-GrantRole', RoleSessionName: 'x1' })));
    expect(grantRole).toMatchObject({ code: 'AccessDenied', status: 403 });
  });

  it("refuses DurationSeconds outside 900 s and the role's maximum, and a malformed session name or tag", async () => {
    for (const DurationSeconds of [899, 3601]) {
      expect(await stsError(assumeFor('A', { DurationSeconds }))).toMatchObject({ code: 'ValidationError', status: 400 });
    }
    const name = await stsError(stsClient.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'a b' })));
    expect(name).toMatchObject({ code: 'ValidationError', status: 400 });
    expect(name.message).toContain("at 'roleSessionName'");
    const tag = await stsError(stsClient.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'ok', Tags: [{ Key: 'videoId', Value: 'a*b' }] })));
    expect(tag).toMatchObject({ code: 'ValidationError', status: 400 });
  });

  it('answers an action it does not serve with InvalidAction', async () => {
    const res = await fetch(sts.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/<ErrorResponse[^>]*><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code>.*<RequestId>[^<]+<\/RequestId><\/ErrorResponse>/);
  });
});

describe('fault proxies in front of STS and KMS', () => {
  it("answer each service's own throttling error, which the SDK classes as throttling", async () => {
    const stsProxy = await startFaultProxy({ service: 'sts', target: sts.endpoint, throttleRate: 1 });
    const kmsProxy = await startFaultProxy({ service: 'kms', target: kms.endpoint, throttleRate: 1 });
    const throttledSts = new STSClient({ endpoint: stsProxy.endpoint, region: 'us-east-1', credentials: ROOT, maxAttempts: 1 });
    const throttledKms = new KMSClient({ endpoint: kmsProxy.endpoint, region: 'us-east-1', credentials: ROOT, maxAttempts: 1 });
    try {
      const stsThrottled = await throttledSts.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'ok' })).then(
        () => expect.fail('the call succeeded'),
        (e: unknown) => e as SdkError,
      );
      expect(stsThrottled).toMatchObject({ name: 'Throttling', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
      expect(isThrottlingError(stsThrottled)).toBe(true);
      const kmsThrottled = await throttledKms.send(new EncryptCommand({ KeyId: 'alias/media-worker', Plaintext: Buffer.from('x') })).then(
        () => expect.fail('the call succeeded'),
        (e: unknown) => e as SdkError,
      );
      expect(kmsThrottled).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
      expect(isThrottlingError(kmsThrottled)).toBe(true);
    } finally {
      throttledSts.destroy();
      throttledKms.destroy();
      await stsProxy.close();
      await kmsProxy.close();
    }
  });
});

describe('local KMS', () => {
  const context = { videoId: 'A', purpose: 'media-worker' };
  let client: KMSClient;
  beforeAll(() => {
    client = new KMSClient({ endpoint: kms.endpoint, region: 'us-east-1', credentials: ROOT });
  });
  afterAll(() => client?.destroy());
  const keyArn = () => `arn:aws:kms:us-east-1:000000000000:key/${physical.get('Identity/CredentialsKey')}`;

  it('decrypts what it encrypted under the same context, in any key order, by key id, ARN or alias', async () => {
    const sealed = await client.send(new EncryptCommand({ KeyId: 'alias/media-worker', Plaintext: Buffer.from('secret'), EncryptionContext: context }));
    expect(sealed).toMatchObject({ KeyId: keyArn(), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    expect(Buffer.from(sealed.CiphertextBlob!).includes(Buffer.from('secret'))).toBe(false);
    const opened = await client.send(
      new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { purpose: 'media-worker', videoId: 'A' }, KeyId: keyArn() }),
    );
    expect(Buffer.from(opened.Plaintext!).toString()).toBe('secret');
    expect(opened.KeyId).toBe(keyArn());
    const byId = await client.send(new EncryptCommand({ KeyId: physical.get('Identity/CredentialsKey'), Plaintext: Buffer.from('x') }));
    expect(Buffer.from((await client.send(new DecryptCommand({ CiphertextBlob: byId.CiphertextBlob }))).Plaintext!).toString()).toBe('x');
  });

  it('refuses another context, a changed blob, a wrong key, an unknown key and an oversized plaintext as KMS does', async () => {
    const sealed = await client.send(new EncryptCommand({ KeyId: keyArn(), Plaintext: Buffer.from('secret'), EncryptionContext: context }));
    const refusal = (call: Promise<unknown>) => call.then(() => expect.fail('the call succeeded'), (e: { name: string; $metadata: { httpStatusCode?: number } }) => [e.name, e.$metadata.httpStatusCode]);
    expect(await refusal(client.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { ...context, videoId: 'B' } })))).toEqual([
      'InvalidCiphertextException',
      400,
    ]);
    expect(await refusal(client.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob })))).toEqual(['InvalidCiphertextException', 400]);
    const changed = Buffer.from(sealed.CiphertextBlob!);
    changed[changed.length - 1]! ^= 1;
    expect(await refusal(client.send(new DecryptCommand({ CiphertextBlob: changed, EncryptionContext: context })))).toEqual(['InvalidCiphertextException', 400]);
    expect(await refusal(client.send(new EncryptCommand({ KeyId: 'alias/nope', Plaintext: Buffer.from('x') })))).toEqual(['NotFoundException', 400]);
    expect(await refusal(client.send(new EncryptCommand({ KeyId: '00000000-0000-4000-a000-000000000000', Plaintext: Buffer.from('x') })))).toEqual([
      'NotFoundException',
      400,
    ]);
    expect(await refusal(client.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: context, KeyId: '00000000-0000-4000-a000-000000000000' })))).toEqual([
      'NotFoundException',
      400,
    ]);
    expect(await refusal(client.send(new EncryptCommand({ KeyId: keyArn(), Plaintext: Buffer.alloc(4097) })))).toEqual(['ValidationException', 400]);
  });

  it('refuses a key id that names another key of the templates with IncorrectKeyException', async () => {
    const twoKeys: SynthesizedStack[] = [{ name: 'Two', template: { Resources: { First: { Type: 'AWS::KMS::Key' }, Second: { Type: 'AWS::KMS::Key' } } } }];
    const ids: PhysicalIds = new Map();
    const local = await startLocalKms({ stacks: twoKeys, physical: ids, file: path.join(directory, 'two-keys.json') });
    const twoClient = new KMSClient({ endpoint: local.endpoint, region: 'us-east-1', credentials: ROOT });
    try {
      const sealed = await twoClient.send(new EncryptCommand({ KeyId: ids.get('Two/First'), Plaintext: Buffer.from('x') }));
      const error = await twoClient.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, KeyId: ids.get('Two/Second') })).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'IncorrectKeyException' });
    } finally {
      twoClient.destroy();
      await local.stop();
    }
  });

  it('still decrypts after a restart: key material persists in its file, readable by the owner only', async () => {
    const sealed = await client.send(new EncryptCommand({ KeyId: keyArn(), Plaintext: Buffer.from('kept'), EncryptionContext: context }));
    const file = path.join(directory, 'kms', 'keys.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const before = await readFile(file, 'utf8');
    await kms.stop();
    kms = await startLocalKms({ stacks, physical: new Map(), file });
    const restarted = new KMSClient({ endpoint: kms.endpoint, region: 'us-east-1', credentials: ROOT });
    try {
      const opened = await restarted.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: context }));
      expect(Buffer.from(opened.Plaintext!).toString()).toBe('kept');
      expect(await readFile(file, 'utf8')).toBe(before);
    } finally {
      restarted.destroy();
    }
  });

  it('answers an operation it does not serve with UnknownOperationException', async () => {
    const res = await fetch(kms.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.GenerateDataKey' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { __type: string }).__type).toBe('UnknownOperationException');
  });
});
