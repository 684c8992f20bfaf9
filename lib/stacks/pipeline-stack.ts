import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { SearchBackend } from '#contracts/env';
import { GradualDeployments } from '#lib/constructs/app-function';
import { FfmpegLayer } from '#lib/constructs/ffmpeg-layer';
import { SearchIndex } from '#lib/constructs/search-index';
import { TranscodeWorkflow, type Transcoder } from '#lib/constructs/transcode-workflow';
import { UploadTriggers } from '#lib/constructs/upload-triggers';
import { Stages, type StageConfig } from '#lib/stages';

/** Props of {@link PipelineStack}. */
export interface PipelineStackProps extends StackProps {
  readonly table: ITableV2;
  readonly rawBucket: IBucket;
  readonly mediaBucket: IBucket;
  /**
   * Which engine transcodes.
   * @default 'ffmpeg'
   */
  readonly transcoder?: Transcoder;
  /**
   * Media segment length, seconds.
   * @default 6
   */
  readonly segmentSeconds?: number;
  /**
   * Target chunk length, seconds (a multiple of the segment length).
   * @default 60
   */
  readonly chunkSeconds?: number;
  /**
   * Chunks transcoded at once; 0 for no limit of ours.
   * @default 0
   */
  readonly chunkConcurrency?: number;
  /**
   * Only these rungs.
   * @default - every rung up to the source's height
   */
  readonly ladderRungs?: readonly string[];
  /**
   * Which engine serves search (the indexer feeds it from the table's stream).
   * @default 'embedded'
   */
  readonly search?: SearchBackend;
  /**
   * Log retention, and how the workflow and trigger functions are released.
   * @default Stages.dev
   */
  readonly stage?: StageConfig;
}

/** The transcoding pipeline: ffmpeg layer, workflow, and what starts it (stateless: safe to replace). */
export class PipelineStack extends Stack {
  public readonly ffmpeg: FfmpegLayer;
  public readonly workflow: TranscodeWorkflow;
  public readonly triggers: UploadTriggers;
  /** The search index and its indexer (table stream → index); search functions bind to it. */
  public readonly search: SearchIndex;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    const { table, rawBucket, mediaBucket, transcoder, segmentSeconds, chunkSeconds, chunkConcurrency, ladderRungs, search, stage = Stages.dev, ...stackProps } = props;
    super(scope, id, { description: 'vodstack: transcode workflow, upload triggers, sweeper, ffmpeg layer', ...stackProps });

    this.ffmpeg = new FfmpegLayer(this, 'FfmpegLayer');
    this.workflow = new TranscodeWorkflow(this, 'TranscodeWorkflow', {
      table,
      rawBucket,
      mediaBucket,
      ffmpegLayer: this.ffmpeg.layer,
      transcoder,
      segmentSeconds,
      chunkSeconds,
      chunkConcurrency,
      ladderRungs,
      logRetention: stage.logRetention,
    });
    this.triggers = new UploadTriggers(this, 'UploadTriggers', {
      table,
      rawBucket,
      workflow: this.workflow.stateMachine,
      logEncryptionKey: this.workflow.logEncryptionKey,
      logRetention: stage.logRetention,
    });
    // Tasks, starter and sweeper shift to new versions per the stage, rolled back on their own errors.
    new GradualDeployments(this, 'Deployments', {
      functions: [...Object.values(this.workflow.functions), this.triggers.starter, this.triggers.sweeper],
      config: stage.deployment,
      errorThreshold: stage.alarms.pipelineFunctionErrors,
    });

    // The embedded index's snapshot lives in the media bucket under search/, which the CDN never serves.
    this.search = new SearchIndex(this, 'SearchIndex', {
      table,
      snapshotBucket: mediaBucket,
      backend: search,
      logEncryptionKey: this.workflow.logEncryptionKey,
      logRetention: stage.logRetention,
    });

    new CfnOutput(this, 'WorkflowArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.triggers.deadLetters.queueUrl });
    new CfnOutput(this, 'SearchIndexFailuresQueueUrl', { value: this.search.failures.queueUrl });
    if (this.search.domain) new CfnOutput(this, 'SearchEndpoint', { value: this.search.domain.domainEndpoint });
  }
}
