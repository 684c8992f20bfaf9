import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { IUserPool } from 'aws-cdk-lib/aws-cognito';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { VideoApi, type UploadLimits } from '#lib/constructs/video-api';

/** Props of {@link ApiStack}. */
export interface ApiStackProps extends StackProps {
  readonly table: ITableV2;
  readonly rawBucket: IBucket;
  readonly userPool: IUserPool;
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
}

/** The public REST API and its route functions (stateless: safe to replace). */
export class ApiStack extends Stack {
  public readonly api: VideoApi;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    const { table, rawBucket, userPool, workflow, allowedOrigins, throttlingRateLimit, throttlingBurstLimit, uploads, ...stackProps } = props;
    super(scope, id, { description: 'vodstack: REST API built from the route table', ...stackProps });

    this.api = new VideoApi(this, 'VideoApi', {
      table,
      rawBucket,
      userPool,
      workflow,
      allowedOrigins,
      throttlingRateLimit,
      throttlingBurstLimit,
      uploads,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url });
  }
}
