import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConflictError } from '#domain/errors';
import type { SnapshotStore } from '#domain/ports';
import { unavailable } from './transient-errors.ts';

/** S3 answers these when a conditional write lost a race (or the object it expected is gone). */
const LOST_RACE = new Set(['PreconditionFailed', 'ConditionalRequestConflict', 'NoSuchKey']);
const LOST_RACE_STATUS = new Set([404, 409, 412]);

/**
 * The search index snapshot as one S3 object. Saves are conditional writes: `If-Match` the ETag
 * the writer loaded, or `If-None-Match: *` for the first one, so two writers never overwrite
 * each other's changes; the loser gets `ConflictError` and reloads (the caller retries).
 */
export class S3SnapshotStore implements SnapshotStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly key: string,
  ) {}

  async load(): Promise<{ body: string; etag: string } | undefined> {
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key }));
      const body = await object.Body!.transformToString('utf8');
      return { body, etag: object.ETag! };
    } catch (error) {
      if (isMissing(error)) return undefined;
      return unavailable('the search snapshot')(error);
    }
  }

  async save(body: string, ifMatch: string | undefined): Promise<string> {
    try {
      const { ETag } = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          Body: body,
          ContentType: 'application/json',
          ...(ifMatch === undefined ? { IfNoneMatch: '*' } : { IfMatch: ifMatch }),
        }),
      );
      return ETag!;
    } catch (error) {
      if (lostRace(error)) {
        throw new ConflictError(`the search snapshot changed since ${ifMatch ?? 'it was found missing'}`, { cause: error });
      }
      return unavailable('the search snapshot')(error);
    }
  }

  async etag(): Promise<string | undefined> {
    try {
      const { ETag } = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key }));
      return ETag;
    } catch (error) {
      if (isMissing(error)) return undefined;
      return unavailable('the search snapshot')(error);
    }
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound' || statusOf(error) === 404);
}

function lostRace(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = statusOf(error);
  return LOST_RACE.has(error.name) || (status !== undefined && LOST_RACE_STATUS.has(status));
}
