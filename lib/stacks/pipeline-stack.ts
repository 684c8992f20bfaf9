import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { FfmpegLayer } from '#lib/constructs/ffmpeg-layer';
import { TranscodeWorkflow, type Transcoder } from '#lib/constructs/transcode-workflow';
import { UploadTriggers } from '#lib/constructs/upload-triggers';

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
}

/** The transcoding pipeline: ffmpeg layer, workflow, and what starts it (stateless: safe to replace). */
export class PipelineStack extends Stack {
  public readonly ffmpeg: FfmpegLayer;
  public readonly workflow: TranscodeWorkflow;
  public readonly triggers: UploadTriggers;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    const { table, rawBucket, mediaBucket, transcoder, segmentSeconds, chunkSeconds, chunkConcurrency, ladderRungs, ...stackProps } = props;
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
    });
    this.triggers = new UploadTriggers(this, 'UploadTriggers', {
      table,
      rawBucket,
      workflow: this.workflow.stateMachine,
      logEncryptionKey: this.workflow.logEncryptionKey,
    });

    new CfnOutput(this, 'WorkflowArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.triggers.deadLetters.queueUrl });
  }
}
