import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { VideoId } from '#contracts/api';
import { Env } from '#contracts/env';
import { GRANT_EXPIRED, type WorkerGrant } from '#contracts/workflow';
import { ValidationError } from '#domain/errors';
import { unavailable } from './transient-errors.ts';

/** Temporary credentials, as an SDK client takes them. */
export interface WorkerCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** The session tag the media worker role's policy scopes every resource by. */
export const VIDEO_TAG = 'videoId';

/**
 * How long a grant lives: an hour, the most STS allows a role assumed by another role's session
 * (role chaining), and four times the longest media task.
 */
const GRANT_SECONDS = 3600;

/**
 * Grants for the ffmpeg tasks, each reaching one video only.
 *
 * `mint` (the Grant task, which runs no ffmpeg) assumes the media worker role with the session
 * tag `videoId`; the role's policy names its keys through `${aws:PrincipalTag/videoId}`, so the
 * credentials read that video's source and write under its prefix, nothing else. They are
 * encrypted with the grant key under the context `{videoId, purpose}` before they enter the
 * workflow's state, whose history and logs then show ciphertext only.
 *
 * `open` (the media task) decrypts with the same context: a grant sealed for another video does
 * not open. The task's own role has no S3 access at all, so a crafted file that takes over
 * ffmpeg finds nothing in the process worth more than the one video it was handed.
 */
export class StsWorkerGrants {
  constructor(
    private readonly sts: STSClient,
    private readonly kms: KMSClient,
    /** Unset in functions that only open grants. */
    private readonly roleArn: string | undefined,
    private readonly keyId: string | undefined,
  ) {}

  async mint(videoId: string): Promise<WorkerGrant> {
    // Checked before it becomes a session tag, and so a key prefix in the role's policy.
    if (!VideoId.safeParse(videoId).success) throw new ValidationError(`video id ${JSON.stringify(videoId)} is not one the API makes`);
    const { Credentials: credentials } = await this.sts
      .send(
        new AssumeRoleCommand({
          RoleArn: need(this.roleArn, Env.mediaWorkerRoleArn),
          RoleSessionName: `video-${videoId}`.slice(0, 64),
          DurationSeconds: GRANT_SECONDS,
          Tags: [{ Key: VIDEO_TAG, Value: videoId }],
        }),
      )
      .catch(unavailable('STS'));
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken || !credentials.Expiration) {
      throw new Error('STS AssumeRole answered without credentials');
    }
    const plaintext = JSON.stringify({
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
    });
    const { CiphertextBlob: sealed } = await this.kms
      .send(new EncryptCommand({ KeyId: need(this.keyId, Env.grantKeyId), Plaintext: Buffer.from(plaintext), EncryptionContext: contextOf(videoId) }))
      .catch(unavailable('KMS'));
    if (!sealed) throw new Error('KMS Encrypt answered without a ciphertext');
    return { sealed: Buffer.from(sealed).toString('base64'), expiresAt: credentials.Expiration.toISOString() };
  }

  /**
   * The credentials of `grant`, if it was sealed for `videoId` and still has `neededMs` to live
   * (else `GrantExpiredError`, which the workflow answers with a new grant).
   */
  async open(videoId: string, grant: WorkerGrant, neededMs: number, now = Date.now()): Promise<WorkerCredentials> {
    const expiration = new Date(grant.expiresAt);
    if (!(expiration.getTime() - now >= neededMs)) {
      throw new GrantExpiredError(`the grant for video ${videoId} expires at ${grant.expiresAt}, before this task could finish`);
    }
    const { Plaintext: plaintext } = await this.kms
      .send(
        new DecryptCommand({
          KeyId: need(this.keyId, Env.grantKeyId),
          CiphertextBlob: Buffer.from(grant.sealed, 'base64'),
          EncryptionContext: contextOf(videoId),
        }),
      )
      .catch(unavailable('KMS'));
    const opened = JSON.parse(Buffer.from(plaintext!).toString('utf8')) as Omit<WorkerCredentials, 'expiration'>;
    return { ...opened, expiration };
  }
}

/** A grant too close to its expiry for the task at hand. */
export class GrantExpiredError extends Error {
  override readonly name = GRANT_EXPIRED;
}

function need(value: string | undefined, variable: string): string {
  if (!value) throw new Error(`${variable} is not set: this function may not use worker grants`);
  return value;
}

function contextOf(videoId: string): Record<string, string> {
  return { [VIDEO_TAG]: videoId, purpose: 'media-worker' };
}
