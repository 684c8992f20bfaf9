import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations, type CfnResource } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData, type IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { LambdaApplication, LambdaDeploymentGroup, type ILambdaApplication, type ILambdaDeploymentConfig } from 'aws-cdk-lib/aws-codedeploy';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Alias, Architecture, LoggingFormat, Runtime, Tracing, ApplicationLogLevel, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BucketGrants, type IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { Env, type EnvName } from '#contracts/env';
import { PowertoolsEnvironment } from '#contracts/metrics';
import { MediaLayout } from '#contracts/workflow';
import { Metadata } from '#lib/metadata';
import { acknowledgeResource } from '#lib/nag';

/** The repository root: entries, the lock file and esbuild's working directory hang off it. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The file of a handler module, e.g. `api/start-upload` → `<root>/lambdas/handlers/api/start-upload.ts`. */
export function handlerEntry(module: string): string {
  return path.join(PROJECT_ROOT, 'lambdas', 'handlers', `${module}.ts`);
}

/**
 * How a function uses the table: `read` and `readWrite` are TableV2's grants (items and indexes);
 * `update` is UpdateItem on the table's items alone (no read, put, delete, scan or index), for a
 * worker that only records progress on its video's item.
 */
export type TableAccess = 'read' | 'readWrite' | 'update';

/** What the table's key must allow for writes through DynamoDB (as TableV2.grantReadWriteData grants it). */
/** What writing a table encrypted with a customer-managed key takes on that key (as `TableV2.grantWriteData`). */
export const TABLE_KEY_WRITE_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'];

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

/**
 * Keys of originals in the raw bucket, `uploads/<video id>/source` (`rawKeyFor` in the domain):
 * every grant on raw objects is limited to them.
 */
export const RAW_KEYS = 'uploads/*';

/** Keys the platform may touch in the media bucket: everything under `videos/<id>/`. */
export const MEDIA_KEYS = `${MediaLayout.prefix('*')}*`;

/**
 * How a function uses the media bucket, always within `videos/*`. The bucket is SSE-KMS, so
 * reads also get `kms:Decrypt` and writes `kms:GenerateDataKey` on its key (single PUTs: no
 * multipart upload, which would also need `kms:Decrypt`):
 * - `read`: GetObject; `write`: PutObject (and AbortMultipartUpload for multipart writes);
 * - `delete`: DeleteObject (also what DeleteObjects checks per key);
 * - `list`: ListBucket, only for prefixes under `videos/`.
 */
export type MediaBucketAccess = 'read' | 'write' | 'delete' | 'list';

const mediaObjectActions: Record<Exclude<MediaBucketAccess, 'list'>, readonly string[]> = {
  read: ['s3:GetObject', 'kms:Decrypt'],
  write: ['s3:PutObject', 's3:AbortMultipartUpload', 'kms:GenerateDataKey'],
  delete: ['s3:DeleteObject'],
};

/** Keys of the poster images creators upload: `videos/<id>/thumbs/custom-*` of the media bucket. */
export const CUSTOM_POSTER_KEYS = `${MediaLayout.customPosterPrefix('*')}*`;

/**
 * How a function uses creator-uploaded poster images: `sign` presigns their PUT (`s3:PutObject`,
 * and `kms:GenerateDataKey`, which S3 uses as the signer), `read` checks one before it becomes
 * the poster (`s3:GetObject`, `kms:Decrypt`).
 */
export type PosterUploadAccess = 'sign' | 'read';

/**
 * The alias every trigger invokes (API integrations, workflow tasks, event sources, schedules):
 * CodeDeploy shifts it from one version to the next, so a release never swaps code under a
 * request and can be rolled back by moving the alias back.
 */
export const LIVE_ALIAS = 'live';

/** How {@link AppFunction.deployGradually} releases a new version. */
export interface GradualDeploymentOptions {
  /** The CodeDeploy application the deployment group belongs to. */
  readonly application: ILambdaApplication;
  /** CodeDeploy's service role (shared by the groups of one application). */
  readonly role: IRole;
  /** Canary, linear or all at once. */
  readonly config: ILambdaDeploymentConfig;
  /** Errors of the `live` alias in one minute that roll the deployment back. */
  readonly errorThreshold: number;
  /**
   * Further alarms that roll the deployment back (e.g. the API's 5xx rate).
   * @default - only the function's own error alarm
   */
  readonly alarms?: readonly IAlarm[];
}

/** What {@link AppFunction.deployGradually} made. */
export interface GradualDeployment {
  readonly group: LambdaDeploymentGroup;
  /** Errors of the `live` alias (construct id `LiveErrors`). */
  readonly errorAlarm: Alarm;
}

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
  private liveAlias?: Alias;
  private deployment?: GradualDeployment;

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
      // Old versions go once an update completes (CodeDeploy has shifted the alias by then), so
      // code storage does not grow with every release.
      currentVersionOptions: { removalPolicy: RemovalPolicy.DESTROY },
      environment: { NODE_OPTIONS: '--enable-source-maps', ...PowertoolsEnvironment, ...environment },
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
   * The `live` alias ({@link LIVE_ALIAS}) on the function's current version, made on first use.
   * Integrate this, not the function: invoking the function itself runs `$LATEST`, which a
   * deployment replaces at once.
   */
  public get live(): Alias {
    this.liveAlias ??= new Alias(this, 'Live', { aliasName: LIVE_ALIAS, version: this.currentVersion });
    return this.liveAlias;
  }

  /**
   * Releases new versions through CodeDeploy: a deployment group that shifts the `live` alias
   * per `options.config` and rolls back when the deployment fails or any of its alarms fires,
   * the first being this alias's own errors (`Errors` ≥ `errorThreshold` in a minute).
   */
  public deployGradually(options: GradualDeploymentOptions): GradualDeployment {
    if (this.deployment) throw new Error(`${this.node.path}: deployGradually was already called`);
    const errorAlarm = new Alarm(this, 'LiveErrors', {
      alarmDescription: `${this.node.path}: errors of the live alias; rolls back a deployment of this function`,
      metric: this.live.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      threshold: options.errorThreshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const group = new LambdaDeploymentGroup(this, 'Deployment', {
      application: options.application,
      alias: this.live,
      deploymentConfig: options.config,
      role: options.role,
      alarms: [errorAlarm, ...(options.alarms ?? [])],
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
    this.deployment = { group, errorAlarm };
    return this.deployment;
  }

  /** The deployment group and rollback alarm, once {@link AppFunction.deployGradually} was called. */
  public get gradualDeployment(): GradualDeployment | undefined {
    return this.deployment;
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
    let grant: Grant;
    if (access === 'update') {
      // On the table's ARN alone: TableV2.grant would add its indexes, which UpdateItem never touches.
      grant = Grant.addToPrincipal({ grantee: this, actions: ['dynamodb:UpdateItem'], resourceArns: [table.tableArn] });
      table.encryptionKey?.grant(this, ...TABLE_KEY_WRITE_ACTIONS);
    } else {
      grant = access === 'read' ? table.grantReadData(this) : table.grantReadWriteData(this);
    }
    this.acknowledgeTableFindings(table, access);
    return grant;
  }

  /** Grants the listed S3 calls on the raw bucket's objects (and its key) and sets `Env.rawBucket`. */
  public useRawBucket(bucket: IBucket, ...access: RawBucketAccess[]): Grant {
    if (access.length === 0) throw new Error(`${this.node.path}: useRawBucket needs at least one access`);
    this.setEnv(Env.rawBucket, bucket.bucketName);
    const actions = [...new Set(access.flatMap((a) => rawBucketActions[a]))];
    const grant = BucketGrants.fromBucket(bucket).actionsOnObjectKeys(this, RAW_KEYS, ...actions);
    acknowledgeResource(
      this,
      'AwsSolutions-IAM5',
      `${bucket.bucketArn}/${RAW_KEYS}`,
      'Originals are uploads/<video id>/source, ids created at run time; access stays under uploads/ of this one bucket and to the listed actions.',
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
    const actions = access === 'sign' ? ['s3:PutObject', 'kms:GenerateDataKey'] : ['s3:GetObject', 'kms:Decrypt'];
    BucketGrants.fromBucket(bucket).actionsOnObjectKeys(this, CUSTOM_POSTER_KEYS, ...actions);
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
    if (access !== 'update') {
      acknowledgeResource(
        this,
        'AwsSolutions-IAM5',
        `${table.tableArn}/index/*`,
        "The single-table design queries its GSIs (gsi1, and any added later) through this grant; the resource is this table's indexes only.",
      );
    }
    if (table.encryptionKey && access !== 'read') {
      for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
        Validations.of(this).acknowledge({
          id: `AwsSolutions-IAM5[Action::${action}]`,
          reason: `${action} is what TableV2.grantReadWriteData grants on the table's own key so DynamoDB can encrypt items written through it; the resource is that one key.`,
        });
      }
    }
  }
}

/** Props of {@link GradualDeployments}. */
export interface GradualDeploymentsProps {
  /** The functions released through CodeDeploy; each is invoked through its `live` alias. */
  readonly functions: readonly AppFunction[];
  /** Canary, linear or all at once (the stage's `deployment`). */
  readonly config: ILambdaDeploymentConfig;
  /** Errors of one function's `live` alias in a minute that roll its deployment back. */
  readonly errorThreshold: number;
  /**
   * Alarms that roll back a deployment of any of the functions (e.g. the API's 5xx rate).
   * @default - each function's own error alarm only
   */
  readonly alarms?: readonly IAlarm[];
}

/**
 * Zero-downtime releases for a set of functions: one CodeDeploy application and service role, and
 * per function a deployment group ({@link AppFunction.deployGradually}) that shifts its `live`
 * alias to the new version and rolls back automatically on a failed deployment or an alarm.
 * CloudFormation hands the alias update to CodeDeploy (the alias's `UpdatePolicy`), so a stack
 * update waits until the shift has completed or been rolled back.
 */
export class GradualDeployments extends Construct {
  public readonly application: LambdaApplication;
  /** CodeDeploy's service role (AWS's `AWSCodeDeployRoleForLambdaLimited`). */
  public readonly role: Role;

  constructor(scope: Construct, id: string, props: GradualDeploymentsProps) {
    super(scope, id);
    this.application = new LambdaApplication(this, 'Application');
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('codedeploy.amazonaws.com') });
    for (const fn of props.functions) {
      fn.deployGradually({ application: this.application, role: this.role, config: props.config, errorThreshold: props.errorThreshold, alarms: props.alarms });
    }
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]',
      reason:
        'The AWS managed policy CodeDeploy documents for Lambda deployments: read and update aliases, read alarms, invoke only CodeDeployHook_* functions and publish only to CodeDeployTopic_* topics.',
    });
  }
}
