import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { MediaBuckets } from '#lib/constructs/media-buckets';
import { PlaybackSigningKey } from '#lib/constructs/playback-key';
import { SearchCursorKey } from '#lib/constructs/search-cursor-key';
import { VideoTable } from '#lib/constructs/video-table';
import { Stages, type StageConfig } from '#lib/stages';

/** Props of {@link DataStack}. */
export interface DataStackProps extends StackProps {
  /**
   * Origins allowed to upload parts to the raw bucket from a browser.
   * @default ['*']
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Removal policy, deletion protection and backups of the stateful resources; termination protection.
   * @default Stages.dev
   */
  readonly stage?: StageConfig;
}

/**
 * Everything stateful: the single table, the buckets with their keys, and the playback signing
 * key. All retained; the construct ids below are part of each resource's identity and never change.
 */
export class DataStack extends Stack {
  public readonly videos: VideoTable;
  public readonly buckets: MediaBuckets;
  public readonly playbackKey: PlaybackSigningKey;
  /** The key search cursors are signed with. */
  public readonly searchCursorKey: SearchCursorKey;

  constructor(scope: Construct, id: string, props: DataStackProps = {}) {
    const { allowedOrigins, stage = Stages.dev, ...stackProps } = props;
    super(scope, id, {
      description: 'vodstack: table, buckets, their keys and the playback signing key (retained)',
      terminationProtection: stage.terminationProtection,
      ...stackProps,
    });
    const removalPolicy = stage.statefulRemovalPolicy;

    this.videos = new VideoTable(this, 'VideoTable', {
      removalPolicy,
      deletionProtection: stage.deletionProtection,
      pointInTimeRecovery: stage.pointInTimeRecovery,
    });
    this.buckets = new MediaBuckets(this, 'MediaBuckets', { allowedOrigins, removalPolicy });
    this.playbackKey = new PlaybackSigningKey(this, 'PlaybackKey', { removalPolicy });
    this.searchCursorKey = new SearchCursorKey(this, 'SearchCursorKey', { removalPolicy });

    new CfnOutput(this, 'TableName', { value: this.videos.table.tableName });
    new CfnOutput(this, 'RawBucketName', { value: this.buckets.raw.bucketName });
    new CfnOutput(this, 'MediaBucketName', { value: this.buckets.media.bucketName });
    new CfnOutput(this, 'PlaybackKeySecretArn', { value: this.playbackKey.secret.secretArn });
  }
}
