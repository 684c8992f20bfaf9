import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { IUserPool, IUserPoolClient } from 'aws-cdk-lib/aws-cognito';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { Delivery } from '#lib/constructs/delivery';
import type { SearchIndex } from '#lib/constructs/search-index';
import { VideoApi, type UploadLimits } from '#lib/constructs/video-api';

/** Options of the CDN in front of the API. */
export interface DeliveryOptions {
  /**
   * A custom domain and its ACM certificate (us-east-1); both or neither.
   * @default - the distribution's `*.cloudfront.net` name
   */
  readonly domain?: { readonly domainName: string; readonly certificateArn: string };
  /**
   * Lifetime of signed playback URLs beyond the video's duration, seconds.
   * @default PlaybackDefaults.ttlSeconds
   */
  readonly playbackTtlSeconds?: number;
  /**
   * The web app's build.
   * @default - `web/dist`, built with `npm run build:web` when missing
   */
  readonly webAppDir?: string;
}

/** Props of {@link ApiStack}. */
export interface ApiStackProps extends StackProps {
  readonly table: ITableV2;
  readonly rawBucket: IBucket;
  readonly mediaBucket: IBucket;
  readonly userPool: IUserPool;
  readonly userPoolClient: IUserPoolClient;
  /** The playback signing key (`{"kid","key"}`). */
  readonly playbackKey: ISecret;
  /** Where CloudFront writes standard logs. */
  readonly cdnLogBucket: IBucket;
  /** The search index the search and feed routes read. */
  readonly searchIndex: SearchIndex;
  /** The `{"key"}` secret search cursors are signed with. */
  readonly searchCursorKey: ISecret;
  /**
   * The transcode workflow the complete-upload route starts.
   * @default - none (the raw bucket's Object Created event starts it)
   */
  readonly workflow?: IStateMachine;
  /**
   * Origins allowed to call the API from a browser.
   * @default ['*']
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Stage throttling, requests per second.
   * @default 50
   */
  readonly throttlingRateLimit?: number;
  /**
   * Stage throttling, burst.
   * @default 100
   */
  readonly throttlingBurstLimit?: number;
  /**
   * Upload limits.
   * @default - `UploadDefaults`
   */
  readonly uploads?: UploadLimits;
  /**
   * CDN options.
   * @default - no custom domain, default URL lifetime, `web/dist`
   */
  readonly delivery?: DeliveryOptions;
}

/**
 * The public REST API and its route functions, and the CDN in front of it (stateless: safe to
 * replace). One stack because each needs the other: the distribution routes `/api/*` to the API,
 * and the stream route hands out URLs on the distribution's domain.
 */
export class ApiStack extends Stack {
  public readonly api: VideoApi;
  public readonly delivery: Delivery;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    const {
      table,
      rawBucket,
      mediaBucket,
      userPool,
      userPoolClient,
      playbackKey,
      cdnLogBucket,
      searchIndex,
      searchCursorKey,
      workflow,
      allowedOrigins,
      throttlingRateLimit,
      throttlingBurstLimit,
      uploads,
      delivery,
      ...stackProps
    } = props;
    super(scope, id, { description: 'vodstack: REST API built from the route table, and the CloudFront distribution in front of it', ...stackProps });

    this.api = new VideoApi(this, 'VideoApi', {
      table,
      rawBucket,
      mediaBucket,
      userPool,
      userPoolClient,
      workflow,
      allowedOrigins,
      throttlingRateLimit,
      throttlingBurstLimit,
      uploads,
      searchIndex,
      searchCursorKey,
    });
    const domain = delivery?.domain;
    this.delivery = new Delivery(this, 'Delivery', {
      mediaBucket,
      api: this.api.api,
      apiStageName: this.api.stageName,
      signingKey: playbackKey,
      userPool,
      userPoolClient,
      logBucket: cdnLogBucket,
      domain: domain && {
        domainName: domain.domainName,
        certificate: Certificate.fromCertificateArn(this, 'Certificate', domain.certificateArn),
      },
      webAppDir: delivery?.webAppDir,
      logEncryptionKey: this.api.logEncryptionKey,
    });
    this.api.usePlayback({ cdnUrl: this.delivery.url, signingKey: playbackKey, ttlSeconds: delivery?.playbackTtlSeconds });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url });
    new CfnOutput(this, 'CdnUrl', {
      value: this.delivery.url,
      description: 'The web app; the API is under /api/v1 and media under /v/ on the same origin',
    });
    new CfnOutput(this, 'DistributionId', { value: this.delivery.distribution.distributionId });
  }
}
