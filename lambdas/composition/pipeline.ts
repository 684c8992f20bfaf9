import { Env, PipelineConfig } from '#contracts/env';
import { documentClient, kmsClient, s3Client, scopedDocumentClient, scopedS3Client, sfnClient, stsClient } from '#adapters/clients';
import { DynamoVideoRepository } from '#adapters/dynamo-video-repository';
import { FfmpegTranscodeTasks } from '#adapters/ffmpeg-transcode-tasks';
import { S3MediaFiles } from '#adapters/s3-media-files';
import { S3MediaStore } from '#adapters/s3-media-store';
import { S3SourceRelay } from '#adapters/s3-source-relay';
import { SfnWorkflowStarter } from '#adapters/sfn-workflow-starter';
import { StsWorkerGrants } from '#adapters/sts-worker-grants';
import type { WorkerGrant } from '#contracts/workflow';
import { Pipeline, type PipelineDeps as PipelineRules } from '#domain/pipeline';
import type { MediaStore, WorkflowStarter } from '#domain/ports';
import { unwired } from './unwired.ts';

interface PipelineDeps {
  readonly pipeline: Pipeline;
  /** Mints (Grant task) and opens (media tasks) the grants the ffmpeg tasks work with. */
  readonly grants: StsWorkerGrants;
  /** Package, which runs no ffmpeg, on the function's own role (see `withMediaTasks` for the others). */
  readonly packager: FfmpegTranscodeTasks;
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
      packager: new FfmpegTranscodeTasks(new S3MediaFiles(s3(), config[Env.rawBucket], mediaBucket)),
      grants: new StsWorkerGrants(
        stsClient(),
        kmsClient(),
        config[Env.mediaWorkerRoleArn],
        config[Env.grantKeyId],
      ),
      pipeline: pipelineOf(config, {
        videos: new DynamoVideoRepository(documentClient(), config[Env.tableName]),
        workflow: workflowArn ? new SfnWorkflowStarter(sfnClient(), workflowArn) : unwired<WorkflowStarter>(Env.workflowArn),
        media: mediaBucket ? new S3MediaStore(s3(), mediaBucket) : unwired<MediaStore>(Env.mediaBucket),
      }),
    };
  }
  return built;
}

/** The pipeline's rules over these adapters, with the clock and limits every function shares. */
function pipelineOf(config: PipelineConfig, ports: Pick<PipelineRules, 'videos' | 'workflow' | 'media'>): Pipeline {
  return new Pipeline({ ...ports, clock: { now: () => new Date() }, stuckAfterMinutes: config[Env.stuckAfterMinutes], maxRestarts: 3 });
}

/** The process's one source relay: media tasks are built per invocation, the relay is not. */
let relay: S3SourceRelay | undefined;

/**
 * Runs `work` with the media tasks of one video, on S3 through `grant`'s credentials only, and a
 * pipeline whose table writes (chunk progress) go through them too: the function's own role has
 * no S3 or table access. `neededMs` is how long the task may still run: a grant that expires
 * sooner is refused (`GrantExpiredError`) and the workflow mints a new one.
 */
export async function withMediaTasks<T>(
  videoId: string,
  grant: WorkerGrant,
  neededMs: number,
  work: (tasks: FfmpegTranscodeTasks, pipeline: Pipeline) => Promise<T>,
): Promise<T> {
  const { config, grants } = pipelineDeps();
  const credentials = await grants.open(videoId, grant, neededMs);
  const s3 = scopedS3Client({ forcePathStyle: config[Env.s3ForcePathStyle] }, credentials);
  const documents = scopedDocumentClient(credentials);
  relay ??= new S3SourceRelay();
  try {
    const tasks = new FfmpegTranscodeTasks(new S3MediaFiles(s3, config[Env.rawBucket], config[Env.mediaBucket], relay));
    const pipeline = pipelineOf(config, {
      videos: new DynamoVideoRepository(documents, config[Env.tableName]),
      workflow: unwired<WorkflowStarter>(Env.workflowArn),
      media: unwired<MediaStore>(Env.mediaBucket),
    });
    return await work(tasks, pipeline);
  } finally {
    relay.forget(s3);
    s3.destroy();
    documents.destroy();
  }
}
