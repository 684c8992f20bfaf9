import { randomBytes } from 'node:crypto';
import { Env, UploadApiConfig, VideoReadConfig } from '#contracts/env';
import { documentClient, s3Client, sfnClient } from '#adapters/clients';
import { SfnWorkflowStarter } from '#adapters/sfn-workflow-starter';
import { DynamoRateLimiter } from '#adapters/dynamo-rate-limiter';
import { DynamoVideoRepository } from '#adapters/dynamo-video-repository';
import { S3UploadStore } from '#adapters/s3-upload-store';
import { Uploads } from '#domain/uploads';
import { VideoQueries } from '#domain/videos';
import type { WorkflowStarter } from '#domain/ports';

let uploads: Uploads | undefined;
let queries: VideoQueries | undefined;

/**
 * The composition root of the upload API: the only place that reads its configuration and picks
 * adapters. Built on first use and kept for the life of the process.
 */
export function deps(): { uploads: Uploads } {
  if (!uploads) {
    const config = UploadApiConfig.parse(process.env);
    const table = config[Env.tableName];
    const documents = documentClient();
    uploads = new Uploads({
      videos: new DynamoVideoRepository(documents, table),
      store: new S3UploadStore(s3Client({ forcePathStyle: config[Env.s3ForcePathStyle] }), config[Env.rawBucket]),
      limiter: new DynamoRateLimiter(documents, table),
      workflow: workflowStarter(config[Env.workflowArn]),
      clock: { now: () => new Date() },
      ids: { videoId: () => randomBytes(8).toString('base64url') },
      limits: {
        maxBytes: config[Env.uploadMaxBytes],
        partSizeBytes: config[Env.uploadPartSizeBytes],
        urlTtlSeconds: config[Env.uploadUrlTtlSeconds],
        startsPerHour: config[Env.uploadStartsPerHour],
      },
    });
  }
  return { uploads };
}

/** The read side, for functions that only have the table (no raw bucket, no grants on it). */
export function readDeps(): { videos: VideoQueries } {
  if (!queries) {
    const config = VideoReadConfig.parse(process.env);
    queries = new VideoQueries(new DynamoVideoRepository(documentClient(), config[Env.tableName]));
  }
  return { videos: queries };
}

function workflowStarter(arn: string | undefined): Pick<WorkflowStarter, 'start'> {
  if (arn) return new SfnWorkflowStarter(sfnClient(), arn);
  return {
    start: () => Promise.reject(new Error(`${Env.workflowArn} is not set: this function may not start the workflow`)),
  };
}
