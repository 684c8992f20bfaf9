import { Env, PipelineConfig } from '#contracts/env';
import { documentClient, s3Client, sfnClient } from '#adapters/clients';
import { DynamoVideoRepository } from '#adapters/dynamo-video-repository';
import { FfmpegTranscodeTasks } from '#adapters/ffmpeg-transcode-tasks';
import { S3MediaFiles } from '#adapters/s3-media-files';
import { S3MediaStore } from '#adapters/s3-media-store';
import { SfnWorkflowStarter } from '#adapters/sfn-workflow-starter';
import { Pipeline } from '#domain/pipeline';
import type { MediaStore, WorkflowStarter } from '#domain/ports';
import { unwired } from './unwired.ts';

interface PipelineDeps {
  readonly pipeline: Pipeline;
  readonly tasks: FfmpegTranscodeTasks;
  readonly config: PipelineConfig;
}

let built: PipelineDeps | undefined;

/**
 * The composition root of the pipeline's functions. Each function is given only the resources
 * it uses; a port whose resource this function was not given fails loudly if called.
 */
export function pipelineDeps(): PipelineDeps {
  if (!built) {
    const config = PipelineConfig.parse(process.env);
    const s3 = () => s3Client({ forcePathStyle: config[Env.s3ForcePathStyle] });
    const workflowArn = config[Env.workflowArn];
    const mediaBucket = config[Env.mediaBucket];
    built = {
      config,
      tasks: new FfmpegTranscodeTasks(new S3MediaFiles(s3(), config[Env.rawBucket], mediaBucket)),
      pipeline: new Pipeline({
        videos: new DynamoVideoRepository(documentClient(), config[Env.tableName]),
        workflow: workflowArn ? new SfnWorkflowStarter(sfnClient(), workflowArn) : unwired<WorkflowStarter>(Env.workflowArn),
        media: mediaBucket ? new S3MediaStore(s3(), mediaBucket) : unwired<MediaStore>(Env.mediaBucket),
        clock: { now: () => new Date() },
        stuckAfterMinutes: config[Env.stuckAfterMinutes],
        maxRestarts: 3,
      }),
    };
  }
  return built;
}
