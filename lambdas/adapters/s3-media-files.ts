import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { unavailable } from './transient-errors.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mpd': 'application/dash+xml',
  '.mp4': 'video/mp4',
  '.m4s': 'video/iso.segment',
  '.jpg': 'image/jpeg',
  '.vtt': 'text/vtt',
  '.json': 'application/json',
};

/** Segments never change once written (new outputs get new names); manifests may. */
const IMMUTABLE = /\.(m4s|mp4|jpg)$/;

/**
 * Files of the pipeline in S3: a short-lived URL ffmpeg reads the source through (so a 20 GiB
 * upload is never copied to a worker's disk), and uploads of a worker's output folder.
 */
export class S3MediaFiles {
  constructor(
    private readonly s3: S3Client,
    private readonly rawBucket: string | undefined,
    private readonly mediaBucket: string | undefined,
  ) {}

  /** A GET URL for the source, valid long enough for one task. */
  async sourceUrl(rawKey: string, ttlSeconds = 3600): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.need(this.rawBucket, 'RAW_BUCKET'), Key: rawKey }), {
      expiresIn: ttlSeconds,
    });
  }

  /** Uploads files, eight at a time: segments are small, so round trips dominate one by one. */
  async putFiles(files: readonly { path: string; key: string }[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const file = files[next++]!;
        await this.putFile(file.path, file.key);
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, files.length) }, worker));
  }

  async putFile(path: string, key: string): Promise<void> {
    const { size } = await stat(path);
    await this.s3
      .send(
        new PutObjectCommand({
          Bucket: this.need(this.mediaBucket, 'MEDIA_BUCKET'),
          Key: key,
          Body: createReadStream(path),
          ContentLength: size,
          ContentType: contentTypeOf(key),
          CacheControl: IMMUTABLE.test(key) ? 'public, max-age=31536000, immutable' : 'public, max-age=60',
        }),
      )
      .catch(unavailable('storage'));
  }

  async putText(key: string, text: string): Promise<void> {
    await this.s3
      .send(
        new PutObjectCommand({
          Bucket: this.need(this.mediaBucket, 'MEDIA_BUCKET'),
          Key: key,
          Body: text,
          ContentType: contentTypeOf(key),
          CacheControl: IMMUTABLE.test(key) ? 'public, max-age=31536000, immutable' : 'public, max-age=60',
        }),
      )
      .catch(unavailable('storage'));
  }

  async getText(key: string): Promise<string> {
    const object = await this.s3
      .send(new GetObjectCommand({ Bucket: this.need(this.mediaBucket, 'MEDIA_BUCKET'), Key: key }))
      .catch(unavailable('storage'));
    return object.Body!.transformToString('utf8');
  }

  private need(bucket: string | undefined, variable: string): string {
    if (!bucket) throw new Error(`${variable} is not set: this function may not use that bucket`);
    return bucket;
  }
}

function contentTypeOf(key: string): string {
  const dot = key.lastIndexOf('.');
  return CONTENT_TYPES[key.slice(dot)] ?? 'application/octet-stream';
}
