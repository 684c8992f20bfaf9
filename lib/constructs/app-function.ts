import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations, type CfnResource } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, LoggingFormat, Runtime, Tracing, ApplicationLogLevel, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BucketGrants, type IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { Env, type EnvName } from '#contracts/env';
import { MediaLayout } from '#contracts/workflow';
import { Metadata } from '#lib/metadata';
import { acknowledgeResource } from '#lib/nag';

/** The repository root: entries, the lock file and esbuild's working directory hang off it. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The file of a handler module, e.g. `api/start-upload` → `<root>/lambdas/handlers/api/start-upload.ts`. */
export function handlerEntry(module: string): string {
  return path.join(PROJECT_ROOT, 'lambdas', 'handlers', `${module}.ts`);
}

/** How a function uses the table. */
export type TableAccess = 'read' | 'readWrite';

/**
 * How a function uses the raw (upload) bucket, in terms of the S3 calls it makes or presigns.
 * A presigned URL runs with the signer's permissions, so the function that signs needs them.
 * - `upload`: CreateMultipartUpload, UploadPart, CompleteMultipartUpload (`s3:PutObject`); with
 *   SSE-KMS, S3 needs `kms:GenerateDataKey` to start and `kms:Decrypt` to take parts and complete.
 * - `read`: GetObject/HeadObject (`s3:GetObject`, `kms:Decrypt`).
 * - `listParts`: ListParts (`s3:ListMultipartUploadParts`).
 * - `abort`: AbortMultipartUpload (`s3:AbortMultipartUpload`).
 * - `delete`: DeleteObject (`s3:DeleteObject`); the bucket is versioned, so this leaves a delete
 *   marker and the original expires with the noncurrent versions.
 */
export type RawBucketAccess = 'upload' | 'read' | 'listParts' | 'abort' | 'delete';

const rawBucketActions: Record<RawBucketAccess, readonly string[]> = {
  upload: ['s3:PutObject', 'kms:GenerateDataKey', 'kms:Decrypt'],
  read: ['s3:GetObject', 'kms:Decrypt'],
  listParts: ['s3:ListMultipartUploadParts'],
  abort: ['s3:AbortMultipartUpload'],
  delete: ['s3:DeleteObject'],
};

/** Keys the platform may touch in the media bucket: everything under `videos/<id>/`. */
export const MEDIA_KEYS = `${MediaLayout.prefix('*')}*`;

/**
 * How a function uses the media bucket, always within `videos/*`:
 * - `read`: GetObject; `write`: PutObject (and AbortMultipartUpload for multipart writes);
 * - `delete`: DeleteObject (also what DeleteObjects checks per key);
 * - `list`: ListBucket, only for prefixes under `videos/`.
 */
export type MediaBucketAccess = 'read' | 'write' | 'delete' | 'list';

const mediaObjectActions: Record<Exclude<MediaBucketAccess, 'list'>, readonly string[]> = {
  read: ['s3:GetObject'],
  write: ['s3:PutObject', 's3:AbortMultipartUpload'],
  delete: ['s3:DeleteObject'],
};

/** Keys of the poster images creators upload: `videos/<id>/thumbs/custom-*` of the media bucket. */
export const CUSTOM_POSTER_KEYS = `${MediaLayout.customPosterPrefix('*')}*`;

/**
 * How a function uses creator-uploaded poster images: `sign` presigns their PUT (`s3:PutObject`),
 * `read` checks one before it becomes the poster (`s3:GetObject`).
 */
export type PosterUploadAccess = 'sign' | 'read';

/** Props of {@link AppFunction}: a `NodejsFunction` whose house defaults are fixed here. */
export interface AppFunctionProps
  extends Omit<
    NodejsFunctionProps,
    'entry' | 'handler' | 'runtime' | 'architecture' | 'projectRoot' | 'depsLockFilePath' | 'logGroup' | 'logRetention' | 'code'
  > {
  /** The module under `lambdas/handlers/` that exports `handler`, e.g. `api/start-upload`. */
  readonly module: string;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Key that encrypts the function's log group; its key policy must admit CloudWatch Logs.
   * @default - CloudWatch Logs' own encryption at rest
   */
  readonly logEncryptionKey?: IKey;
}

/**
 * The house Lambda function. Defaults are set once: Node.js 22 on x86_64 (the ffmpeg layer is an
 * x86_64 static binary, and every function shares one architecture), X-Ray tracing, a log group
 * with retention and JSON logs, and an ESM bundle (minified, source maps, `keepNames`, the AWS SDK
 * bundled so the version we test is the version we run).
 *
 * Resources are bound with `use*` methods, which grant least privilege *and* set the env var the
 * composition root reads (names from `#contracts/env`), so the two cannot drift apart.
 */
export class AppFunction extends NodejsFunction {
  /** The module under `lambdas/handlers/` this function runs. */
  public readonly module: string;

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    const { module, logRetention, logEncryptionKey, bundling, environment, ...rest } = props;
    // The log group must exist before the function (it is a prop), and `this` does not exist yet:
    // it is created beside the function, as `<id>LogGroup`.
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: logRetention ?? RetentionDays.ONE_MONTH,
      encryptionKey: logEncryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      memorySize: 1024,
      timeout: Duration.seconds(15),
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      ...rest,
      entry: handlerEntry(module),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.X86_64,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...environment },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        // ESM output has no `require`; some CommonJS dependencies call it.
        banner: "import { createRequire as __vodstackCreateRequire } from 'node:module'; const require = __vodstackCreateRequire(import.meta.url);",
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        keepNames: true,
        bundleAwsSDK: true,
        ...bundling,
      },
    });
    this.module = module;
    (this.node.defaultChild as CfnResource).addMetadata(Metadata.handler, module);

    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs streams.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
      },
      ...['AwsSolutions-L1', 'Serverless-LambdaLatestVersion'].map((id) => ({
        id,
        reason:
          'Pinned to nodejs22.x on purpose (DESIGN.md): the closest runtime to the Node 20 that local mode and the tests run, so the code is tested on what it runs; moving to nodejs24.x is a deliberate upgrade.',
      })),
    );
  }

  /**
   * Sets a configuration env var; the name must come from `Env` so the composition root that
   * parses it cannot disagree.
   */
  public setEnv(name: EnvName, value: string | number | boolean): this {
    this.addEnvironment(name, String(value));
    return this;
  }

  /** Grants `access` on the single table and sets `Env.tableName`. */
  public useTable(table: ITableV2, access: TableAccess): Grant {
    this.setEnv(Env.tableName, table.tableName);
    const grant = access === 'read' ? table.grantReadData(this) : table.grantReadWriteData(this);
    this.acknowledgeTableFindings(table, access);
    return grant;
  }

  /** Grants the listed S3 calls on the raw bucket's objects (and its key) and sets `Env.rawBucket`. */
  public useRawBucket(bucket: IBucket, ...access: RawBucketAccess[]): Grant {
    if (access.length === 0) throw new Error(`${this.node.path}: useRawBucket needs at least one access`);
    this.setEnv(Env.rawBucket, bucket.bucketName);
    const actions = [...new Set(access.flatMap((a) => rawBucketActions[a]))];
    const grant = BucketGrants.fromBucket(bucket).actionsOnObjectKeys(this, '*', ...actions);
    acknowledgeResource(
      this,
      'AwsSolutions-IAM5',
      `${bucket.bucketArn}/*`,
      'Object keys are derived from video ids created at run time; access stays within this one bucket and to the listed actions.',
    );
    return grant;
  }

  /**
   * Grants `access` to the media bucket's `videos/*` keys only, and sets `Env.mediaBucket`. `list`
   * is ListBucket restricted to prefixes under `videos/` (no bucket grant takes a condition).
   */
  public useMediaBucket(bucket: IBucket, ...access: MediaBucketAccess[]): this {
    if (access.length === 0) throw new Error(`${this.node.path}: useMediaBucket needs at least one access`);
    this.setEnv(Env.mediaBucket, bucket.bucketName);
    const actions = [...new Set(access.flatMap((a) => (a === 'list' ? [] : mediaObjectActions[a])))];
    if (actions.length > 0) {
      BucketGrants.fromBucket(bucket).actionsOnObjectKeys(this, MEDIA_KEYS, ...actions);
      acknowledgeResource(
        this,
        'AwsSolutions-IAM5',
        `${bucket.bucketArn}/${MEDIA_KEYS}`,
        'Media keys are videos/<video id>/…, ids created at run time; access stays under videos/ of the media bucket and to the listed actions.',
      );
    }
    if (access.includes('list')) {
      Grant.addToPrincipal({
        grantee: this,
        actions: ['s3:ListBucket'],
        resourceArns: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [MEDIA_KEYS] } },
      });
    }
    return this;
  }

  /**
   * Grants `access` to the media bucket's uploaded poster images only (`CUSTOM_POSTER_KEYS`), and
   * sets `Env.mediaBucket`.
   */
  public usePosterUploads(bucket: IBucket, access: PosterUploadAccess): this {
    this.setEnv(Env.mediaBucket, bucket.bucketName);
    BucketGrants.fromBucket(bucket).actionsOnObjectKeys(this, CUSTOM_POSTER_KEYS, access === 'sign' ? 's3:PutObject' : 's3:GetObject');
    acknowledgeResource(
      this,
      'AwsSolutions-IAM5',
      `${bucket.bucketArn}/${CUSTOM_POSTER_KEYS}`,
      'Poster images are videos/<video id>/thumbs/custom-<random>, named at run time; access stays on those keys of the media bucket and to one action.',
    );
    return this;
  }

  /** Grants reading a secret's value (and decrypting it) and sets `name` to the secret's ARN. */
  public useSecret(name: EnvName, secret: ISecret): Grant {
    this.setEnv(name, secret.secretArn);
    return secret.grantRead(this);
  }

  private acknowledgeTableFindings(table: ITableV2, access: TableAccess): void {
    acknowledgeResource(
      this,
      'AwsSolutions-IAM5',
      `${table.tableArn}/index/*`,
      "The single-table design queries its GSIs (gsi1, and any added later) through this grant; the resource is this table's indexes only.",
    );
    if (table.encryptionKey && access === 'readWrite') {
      for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
        Validations.of(this).acknowledge({
          id: `AwsSolutions-IAM5[Action::${action}]`,
          reason: `${action} is what TableV2.grantReadWriteData grants on the table's own key so DynamoDB can encrypt items written through it; the resource is that one key.`,
        });
      }
    }
  }
}
