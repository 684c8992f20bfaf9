import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { GrantExpiredError } from '#adapters/sts-worker-grants';
import { MediaLayout, RawLayout, type WorkerGrant } from '#contracts/workflow';
import { localS3 } from '../support/clients.ts';
import { makeClip } from '../support/media.ts';

const platform = inject('platform');
const root = localS3(platform);
const A = 'grantVideoA';
const B = 'grantVideoB';

/**
 * The ffmpeg tasks' credentials, through the product's own code (`withMediaTasks`, the Grant
 * task's `StsWorkerGrants`) against the local STS, KMS and S3, which enforce the media worker
 * role's policy from the synthesized template.
 */
describe('worker grants', () => {
  let composition: typeof import('#composition/pipeline');
  let grantA: WorkerGrant;
  let s3A: S3Client;

  beforeAll(async () => {
    // The environment the platform gives its functions: this process then runs their code.
    Object.assign(process.env, platform.functionEnv);
    // Set by the local Lambda runtime for its own process; here there is no InvokeStore to scope by.
    delete process.env['AWS_LAMBDA_MAX_CONCURRENCY'];
    composition = await import('#composition/pipeline');
    const dir = mkdtempSync(join(tmpdir(), 'vodstack-grants-'));
    await makeClip(join(dir, 'clip.mp4'), { width: 320, height: 240, seconds: 2 });
    for (const id of [A, B]) {
      await root.send(new PutObjectCommand({ Bucket: platform.rawBucket, Key: RawLayout.source(id), Body: readFileSync(join(dir, 'clip.mp4')) }));
    }
    grantA = await composition.pipelineDeps().grants.mint(A);
    const credentials = await composition.pipelineDeps().grants.open(A, grantA, 0);
    s3A = new S3Client({ endpoint: platform.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  }, 60_000);

  const denied = (promise: Promise<unknown>) => expect(promise).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });

  it('travels sealed: the grant shows no credential', () => {
    expect(JSON.stringify(grantA)).not.toMatch(/ASIA|AKIA|sessionToken|secret/i);
    expect(new Date(grantA.expiresAt).getTime() - Date.now()).toBeGreaterThan(55 * 60_000);
  });

  it("reads the video's own source, and no other video's", async () => {
    const own = await s3A.send(new GetObjectCommand({ Bucket: platform.rawBucket, Key: RawLayout.source(A) }));
    expect((await own.Body!.transformToByteArray()).length).toBeGreaterThan(1000);
    await denied(s3A.send(new GetObjectCommand({ Bucket: platform.rawBucket, Key: RawLayout.source(B) })));
    await denied(s3A.send(new GetObjectCommand({ Bucket: platform.mediaBucket, Key: MediaLayout.hlsMaster(A) })));
  });

  it("writes only under the video's own prefix, and never deletes or lists", async () => {
    await s3A.send(new PutObjectCommand({ Bucket: platform.mediaBucket, Key: `${MediaLayout.prefix(A)}grant-test.txt`, Body: 'mine' }));
    await denied(s3A.send(new PutObjectCommand({ Bucket: platform.mediaBucket, Key: `${MediaLayout.prefix(B)}grant-test.txt`, Body: 'theirs' })));
    await denied(s3A.send(new PutObjectCommand({ Bucket: platform.mediaBucket, Key: 'search/videos.json', Body: '{}' })));
    await denied(s3A.send(new PutObjectCommand({ Bucket: platform.rawBucket, Key: RawLayout.source(A), Body: 'overwrite' })));
    await denied(s3A.send(new DeleteObjectCommand({ Bucket: platform.mediaBucket, Key: `${MediaLayout.prefix(A)}grant-test.txt` })));
    await denied(s3A.send(new ListObjectsV2Command({ Bucket: platform.mediaBucket, Prefix: MediaLayout.prefix(A) })));
  });

  it('is what the media tasks work with: a task handed the grant of one video cannot read another', async () => {
    const probe = (rawKey: string) =>
      composition.withMediaTasks(A, grantA, 60_000, (tasks) => tasks.probe({ videoId: A, generation: 1, rawKey }));
    await expect(probe(RawLayout.source(A))).resolves.toMatchObject({ width: 320, height: 240 });
    // Through the function's own role this read would succeed: the grant is all the task has.
    await expect(probe(RawLayout.source(B))).rejects.toThrow();
  });

  it('opens only for the video it was sealed for, and not when it would expire before the task ends', async () => {
    await expect(composition.withMediaTasks(B, grantA, 60_000, async () => 'opened')).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    const expiring = { ...grantA, expiresAt: new Date(Date.now() + 60_000).toISOString() };
    await expect(composition.withMediaTasks(A, expiring, 15 * 60_000, async () => 'opened')).rejects.toBeInstanceOf(GrantExpiredError);
    await expect(composition.withMediaTasks(A, grantA, 15 * 60_000, async () => 'opened')).resolves.toBe('opened');
  });
});
