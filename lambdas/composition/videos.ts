import { Env, VideoAdminConfig } from '#contracts/env';
import { documentClient, s3Client, sfnClient } from '#adapters/clients';
import { DynamoVideoRepository } from '#adapters/dynamo-video-repository';
import { S3MediaStore } from '#adapters/s3-media-store';
import { S3PosterStore } from '#adapters/s3-poster-store';
import { S3UploadStore } from '#adapters/s3-upload-store';
import { SfnWorkflowStarter } from '#adapters/sfn-workflow-starter';
import { Library } from '#domain/library';
import type { MediaStore, PosterStore, UploadStore, WorkflowStarter } from '#domain/ports';
import { unwired } from './unwired.ts';

let library: Library | undefined;

/**
 * The composition root of a creator's video management (edit, delete, list). Editing and
 * listing functions are given the table only; a bucket port they were not given fails loudly
 * if called.
 */
export function videoDeps(): { library: Library } {
  if (!library) {
    const config = VideoAdminConfig.parse(process.env);
    const s3 = () => s3Client({ forcePathStyle: config[Env.s3ForcePathStyle] });
    const rawBucket = config[Env.rawBucket];
    const mediaBucket = config[Env.mediaBucket];
    const workflowArn = config[Env.workflowArn];
    library = new Library({
      videos: new DynamoVideoRepository(documentClient(), config[Env.tableName]),
      uploads: rawBucket ? new S3UploadStore(s3(), rawBucket) : unwired<UploadStore>(Env.rawBucket),
      media: mediaBucket ? new S3MediaStore(s3(), mediaBucket) : unwired<MediaStore>(Env.mediaBucket),
      workflow: workflowArn ? new SfnWorkflowStarter(sfnClient(), workflowArn) : unwired<WorkflowStarter>(Env.workflowArn),
      posters: mediaBucket ? new S3PosterStore(s3(), mediaBucket) : unwired<PosterStore>(Env.mediaBucket),
    });
  }
  return { library };
}
