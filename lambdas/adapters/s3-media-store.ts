import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { UnavailableError } from '#domain/errors';
import type { MediaStore } from '#domain/ports';
import { unavailable } from './transient-errors.ts';

/** The media bucket: outputs of the pipeline under `videos/<id>/`. */
export class S3MediaStore implements MediaStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async removePrefix(prefix: string): Promise<number> {
    let removed = 0;
    let token: string | undefined;
    do {
      const page = await this.s3
        .send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }))
        .catch(unavailable('storage'));
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (keys.length) {
        const { Errors } = await this.s3
          .send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }))
          .catch(unavailable('storage'));
        // DeleteObjects answers 200 even when some keys fail; those are listed in `Errors`.
        if (Errors?.length) {
          const first = Errors[0]!;
          throw new UnavailableError(`storage could not delete ${Errors.length} of ${keys.length} objects; retry shortly`, {
            cause: new Error(`${first.Code ?? 'Error'} on ${first.Key ?? '?'}: ${first.Message ?? ''}`),
          });
        }
        removed += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return removed;
  }
}
