import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  NoSuchUpload,
  NotFound,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { PartUrl, StoredPart } from '#contracts/api';
import { UploadGoneError } from '#domain/errors';
import type { UploadStore } from '#domain/ports';
import { unavailable } from './transient-errors.ts';

const isNoSuchUpload = (error: unknown) =>
  error instanceof NoSuchUpload || (error instanceof Error && error.name === 'NoSuchUpload');

/** Multipart uploads into the raw bucket, straight from the client with presigned part URLs. */
export class S3UploadStore implements UploadStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async begin(key: string, contentType: string): Promise<string> {
    const { UploadId } = await this.s3
      .send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          ContentType: contentType,
        }),
      )
      .catch(unavailable('storage'));
    if (!UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
    return UploadId;
  }

  /** Content-Length is a signed header, so S3 refuses a part whose length differs from `size`. */
  async signParts(
    key: string,
    uploadId: string,
    parts: readonly { partNumber: number; size: number }[],
    ttlSeconds: number,
  ): Promise<PartUrl[]> {
    return Promise.all(
      parts.map(async ({ partNumber, size }) => ({
        partNumber,
        size,
        url: await getSignedUrl(
          this.s3,
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            ContentLength: size,
          }),
          { expiresIn: ttlSeconds, signableHeaders: new Set(['content-length']) },
        ),
      })),
    );
  }

  async listParts(key: string, uploadId: string): Promise<StoredPart[]> {
    const parts: StoredPart[] = [];
    let marker: string | undefined;
    do {
      const page = await this.s3
        .send(new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }))
        .catch((error: unknown) => {
          if (isNoSuchUpload(error)) throw new UploadGoneError('the upload no longer exists', { cause: error });
          return unavailable('storage')(error);
        });
      for (const part of page.Parts ?? []) {
        if (part.PartNumber && part.ETag) parts.push({ partNumber: part.PartNumber, etag: part.ETag, size: part.Size ?? 0 });
      }
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
    return parts;
  }

  async complete(key: string, uploadId: string, parts: readonly { partNumber: number; etag: string }[]): Promise<void> {
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    await this.s3
      .send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: sorted.map((p) => ({ PartNumber: p.partNumber, ETag: quote(p.etag) })) },
        }),
      )
      .catch((error: unknown) => {
        if (isNoSuchUpload(error)) throw new UploadGoneError('the upload no longer exists', { cause: error });
        return unavailable('storage')(error);
      });
  }

  async abort(key: string, uploadId: string): Promise<void> {
    await this.s3
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
      .catch((error: unknown) => {
        if (isNoSuchUpload(error)) return;
        return unavailable('storage')(error);
      });
  }

  async sizeOf(key: string): Promise<number | undefined> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return head.ContentLength;
    } catch (error) {
      if (error instanceof NotFound || (error instanceof Error && error.name === 'NotFound')) return undefined;
      return unavailable('storage')(error);
    }
  }

  async remove(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(unavailable('storage'));
  }
}

const quote = (etag: string) => (etag.startsWith('"') ? etag : `"${etag}"`);
