import { open } from 'node:fs/promises';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { S3SourceRelay } from './s3-source-relay.ts';
import { isTransient, unavailable } from './transient-errors.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mpd': 'application/dash+xml',
  '.mp4': 'video/mp4',
  '.m4s': 'video/iso.segment',
  '.jpg': 'image/jpeg',
  '.vtt': 'text/vtt',
  '.json': 'application/json',
};

/** Attempts of one streamed upload (the SDK's own default, which it cannot apply to a stream). */
const STREAM_ATTEMPTS = 3;

/** Segments never change once written (new outputs get new names); manifests may. */
const IMMUTABLE = /\.(m4s|mp4|jpg)$/;

/**
 * Files of the pipeline in S3: a short-lived URL ffmpeg reads the source through (so a 20 GiB
 * upload is never copied to a worker's disk), and uploads of a worker's output folder.
 */
export class S3MediaFiles {
  /**
   * @param relay serves sources to ffmpeg; pass the process's one relay when files are made per
   *   task (with a grant's client), so each task does not leave a server behind.
   */
  constructor(
    private readonly s3: S3Client,
    private readonly rawBucket: string | undefined,
    private readonly mediaBucket: string | undefined,
    private readonly relay = new S3SourceRelay(),
  ) {}

  /**
   * The URL ffmpeg reads the source through, valid long enough for one task: a loopback relay
   * that reads it from S3 with the SDK's retries ({@link S3SourceRelay}), since ffmpeg's HTTP
   * client turns a throttled range read into a "corrupt" file.
   */
  async sourceUrl(rawKey: string, ttlSeconds = 3600): Promise<string> {
    return this.relay.url(this.s3, this.need(this.rawBucket, 'RAW_BUCKET'), rawKey, ttlSeconds);
  }

  /** A presigned GET URL for the source (for readers outside this process). */
  async presignedSourceUrl(rawKey: string, ttlSeconds = 3600): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.need(this.rawBucket, 'RAW_BUCKET'), Key: rawKey }), {
      expiresIn: ttlSeconds,
    });
  }

  /** Uploads files, eight at a time: segments are small, so round trips dominate one by one. */
  async putFiles(files: readonly { path: string; key: string }[]): Promise<void> {
    let next = 0;
    let failure: { error: unknown } | undefined;
    // On a failure the other workers stop, and all have settled before it is thrown: the caller
    // removes the files next, which must not happen under an upload still running (or retrying).
    const worker = async () => {
      while (next < files.length && !failure) {
        const file = files[next++]!;
        try {
          await this.putFile(file.path, file.key);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, files.length) }, worker));
    if (failure) throw failure.error;
  }

  /**
   * The SDK cannot retry a streamed body (the stream is spent), so a throttled or cut upload is
   * retried here, with a fresh stream, before it counts as unavailable.
   */
  async putFile(path: string, key: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      // Opened up front, so a missing file is this call's rejection, not a stream 'error' event
      // nobody listens to (an uncaught exception that takes the whole worker down).
      const file = await open(path);
      const body = file.createReadStream();
      try {
        await this.s3.send(
          new PutObjectCommand({
            Bucket: this.need(this.mediaBucket, 'MEDIA_BUCKET'),
            Key: key,
            Body: body,
            ContentLength: (await file.stat()).size,
            ContentType: contentTypeOf(key),
            CacheControl: IMMUTABLE.test(key) ? 'public, max-age=31536000, immutable' : 'public, max-age=60',
          }),
        );
        return;
      } catch (error) {
        if (attempt >= STREAM_ATTEMPTS || !isTransient(error)) return unavailable('storage')(error);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 100 * 2 ** attempt));
      } finally {
        body.destroy(); // closes the file, read to the end or not
      }
    }
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
