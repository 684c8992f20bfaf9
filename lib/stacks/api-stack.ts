import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { IUserPool, IUserPoolClient } from 'aws-cdk-lib/aws-cognito';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { GradualDeployments } from '#lib/constructs/app-function';
import { Delivery } from '#lib/constructs/delivery';
import { ApiServerErrorRateAlarm } from '#lib/constructs/observability';
import type { SearchIndex } from '#lib/constructs/search-index';
import { VideoApi, type UploadLimits } from '#lib/constructs/video-api';
import { Stages, type StageConfig } from '#lib/stages';
import { VodstackWebAcl, type WebAclRateLimits } from '#lib/constructs/web-acl';

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
  /**
   * Log retention, how route functions are released, and what rolls a release back.
   * @default Stages.dev
   */
  readonly stage?: StageConfig;
  /**
   * WAF: per-IP limits of both web ACLs, and the CloudFront web ACL when it lives elsewhere.
   * @default - `WebAclDefaults`; the CloudFront web ACL is created here, which needs this stack in us-east-1
   */
  readonly waf?: WafOptions;
}

/** WAF options of {@link ApiStack}. */
export interface WafOptions {
  /** @default WebAclDefaults */
  readonly rateLimits?: WebAclRateLimits;
  /**
   * ARN of a `CLOUDFRONT` web ACL (us-east-1) for the distribution.
   * @default - one created in this stack (us-east-1 only)
   */
  readonly cdnWebAclArn?: string;
}

/**
 * The public REST API and its route functions, and the CDN in front of it (stateless: safe to
 * replace). One stack because each needs the other: the distribution routes `/api/*` to the API,
 * and the stream route hands out URLs on the distribution's domain.
 */
export class ApiStack extends Stack {
  public readonly api: VideoApi;
  public readonly delivery: Delivery;
  /** The API stage's web ACL. */
  public readonly apiWebAcl: VodstackWebAcl;

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
      waf,
      stage = Stages.dev,
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
      logRetention: stage.logRetention,
    });
    // Each route function shifts to a new version per the stage, rolled back on its own errors or
    // on the API's 5xx rate over one minute (a canary's share is small: it must show within the bake).
    new GradualDeployments(this, 'Deployments', {
      functions: Object.values(this.api.functions),
      config: stage.deployment,
      errorThreshold: stage.alarms.apiFunctionErrors,
      alarms: [
        new ApiServerErrorRateAlarm(this, 'DeployServerErrorRate', {
          alarmDescription: 'API 5xx rate over one minute; rolls back a route function deployment (docs/runbooks.md#deployment-rolled-back)',
          stage: this.api.api.deploymentStage,
          thresholdPercent: stage.alarms.deployApiServerErrorRatePercent,
          period: Duration.minutes(1),
        }),
      ],
    });
    // WAF on the stage (direct callers) and on the distribution (every viewer): see VodstackWebAcl.
    this.apiWebAcl = new VodstackWebAcl(this, 'ApiWebAcl', { scope: 'REGIONAL', rateLimits: waf?.rateLimits, logEncryptionKey: this.api.logEncryptionKey });
    this.apiWebAcl.associate('Stage', this.api.api.deploymentStage.stageArn);
    const cdnWebAclArn = waf?.cdnWebAclArn ?? new VodstackWebAcl(this, 'CdnWebAcl', { scope: 'CLOUDFRONT', rateLimits: waf?.rateLimits, logEncryptionKey: this.api.logEncryptionKey }).arn;

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
      logRetention: stage.logRetention,
      webAclArn: cdnWebAclArn,
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
