import { DecryptCommand, EncryptCommand, KMSClient, KMSInvalidStateException } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { GrantExpiredError, StsWorkerGrants } from '#adapters/sts-worker-grants';
import { UnavailableError, ValidationError } from '#domain/errors';

const ROLE = 'arn:aws:iam::123456789012:role/media-worker';
const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/grant';
const sts = mockClient(STSClient);
const kms = mockClient(KMSClient);
const grants = new StsWorkerGrants(new STSClient({ region: 'eu-west-1' }), new KMSClient({ region: 'eu-west-1' }), ROLE, KEY);
const expiration = new Date('2026-11-26T04:00:00.000Z');
const credentials = { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'secret', SessionToken: 'token', Expiration: expiration };

beforeEach(() => {
  sts.reset();
  kms.reset();
});

describe('StsWorkerGrants', () => {
  it('mints: assumes the worker role tagged with the video, for an hour, and seals the credentials under the video context', async () => {
    sts.on(AssumeRoleCommand).resolves({ Credentials: credentials });
    kms.on(EncryptCommand).resolves({ CiphertextBlob: Buffer.from('sealed-bytes') });

    const grant = await grants.mint('vid00000001');

    expect(grant).toEqual({ sealed: Buffer.from('sealed-bytes').toString('base64'), expiresAt: expiration.toISOString() });
    expect(sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input).toEqual({
      RoleArn: ROLE,
      RoleSessionName: 'video-vid00000001',
      DurationSeconds: 3600,
      Tags: [{ Key: 'videoId', Value: 'vid00000001' }],
    });
    const encrypt = kms.commandCalls(EncryptCommand)[0]!.args[0].input;
    expect(encrypt.KeyId).toBe(KEY);
    expect(encrypt.EncryptionContext).toEqual({ videoId: 'vid00000001', purpose: 'media-worker' });
    expect(JSON.parse(Buffer.from(encrypt.Plaintext!).toString('utf8'))).toEqual({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' });
  });

  it('refuses to mint for anything but a video id, before STS is asked', async () => {
    for (const id of ['', 'vid0000000*', 'a/b', 'vid00000001/../x', 'x'.repeat(12)]) {
      await expect(grants.mint(id), id).rejects.toBeInstanceOf(ValidationError);
    }
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it('opens a grant with the same video context and gives its credentials and expiry', async () => {
    kms.on(DecryptCommand).resolves({ Plaintext: Buffer.from(JSON.stringify({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' })) });

    const opened = await grants.open('vid00000001', { sealed: 'c2VhbGVk', expiresAt: expiration.toISOString() }, 15 * 60_000, expiration.getTime() - 30 * 60_000);

    expect(opened).toEqual({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token', expiration });
    expect(kms.commandCalls(DecryptCommand)[0]!.args[0].input).toMatchObject({
      KeyId: KEY,
      CiphertextBlob: Buffer.from('sealed'),
      EncryptionContext: { videoId: 'vid00000001', purpose: 'media-worker' },
    });
  });

  it('refuses a grant that would expire before the task could finish, without opening it', async () => {
    const grant = { sealed: 'c2VhbGVk', expiresAt: expiration.toISOString() };
    await expect(grants.open('vid00000001', grant, 15 * 60_000, expiration.getTime() - 14 * 60_000)).rejects.toBeInstanceOf(GrantExpiredError);
    await expect(grants.open('vid00000001', grant, 15 * 60_000, expiration.getTime() - 14 * 60_000)).rejects.toMatchObject({ name: 'GrantExpiredError' });
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(0);
  });

  it('reports a throttled STS or KMS as unavailable (retried by the workflow), other errors as they are', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    sts.on(AssumeRoleCommand).rejects(throttled);
    await expect(grants.mint('vid00000001')).rejects.toBeInstanceOf(UnavailableError);

    kms.on(DecryptCommand).rejects(throttled);
    const grant = { sealed: 'c2VhbGVk', expiresAt: expiration.toISOString() };
    await expect(grants.open('vid00000001', grant, 0, expiration.getTime() - 60_000)).rejects.toBeInstanceOf(UnavailableError);

    kms.on(DecryptCommand).rejects(new KMSInvalidStateException({ message: 'key is disabled', $metadata: { httpStatusCode: 400 } }));
    await expect(grants.open('vid00000001', grant, 0, expiration.getTime() - 60_000)).rejects.toBeInstanceOf(KMSInvalidStateException);
  });
});
