import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { PosterStore } from '#domain/ports';
import { unavailable } from './transient-errors.ts';

const isMissing = (error: unknown) =>
  error instanceof NoSuchKey || (error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound'));

/** Creator-uploaded poster images in the media bucket. */
export class S3PosterStore implements PosterStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /** Content-Type and Content-Length are signed headers, so S3 refuses any other type or size. */
  async signPut(key: string, contentType: string, size: number, ttlSeconds: number): Promise<string> {
    return getSignedUrl(
      this.s3,
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ContentType: contentType,
        ContentLength: size,
      }),
      { expiresIn: ttlSeconds, signableHeaders: new Set(['content-type', 'content-length']) },
    );
  }

  /** A ranged GET: the size comes from `Content-Range`, so the image is never read whole. */
  async peek(key: string, bytes: number): Promise<{ size: number; head: Uint8Array } | undefined> {
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=0-${bytes - 1}` }));
      const head = await object.Body!.transformToByteArray();
      const total = /\/(\d+)$/.exec(object.ContentRange ?? '')?.[1];
      return { size: total === undefined ? (object.ContentLength ?? head.length) : Number(total), head: head.subarray(0, bytes) };
    } catch (error) {
      if (isMissing(error)) return undefined;
      return unavailable('storage')(error);
    }
  }
}
