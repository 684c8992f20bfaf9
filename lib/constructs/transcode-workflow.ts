import { Aws, Duration, RemovalPolicy, Size, Validations, type CfnResource } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { ArnPrincipal, Grant, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { BucketGrants } from 'aws-cdk-lib/aws-s3';
import type { ILayerVersion } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  Chain,
  DefinitionBody,
  Fail,
  JitterType,
  JsonPath,
  LogLevel,
  Map as MapState,
  Parallel,
  Pass,
  StateMachine,
  StateMachineType,
  TaskInput,
  Timeout,
  type IChainable,
  type INextable,
  type TaskStateBase,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { Env, type EnvName } from '#contracts/env';
import { GRANT_EXPIRED, MediaLayout, PermanentErrors, RawLayout, StateNames, TaskHandlers } from '#contracts/workflow';
import { videoKey } from '#adapters/keys';
import { AppFunction, MEDIA_KEYS, TABLE_KEY_WRITE_ACTIONS, type MediaBucketAccess } from '#lib/constructs/app-function';
import { FfmpegLayerPaths } from '#lib/constructs/ffmpeg-layer';
import { MediaConvertStateNames, MediaConvertTranscoder } from '#lib/constructs/mediaconvert-transcoder';
import { Metadata, type WorkflowMetadata } from '#lib/metadata';
import { acknowledgeResource } from '#lib/nag';

/** Which engine turns the source into the ladder. */
export type Transcoder = WorkflowMetadata['transcoder'];

/** The session tag a worker grant carries, as the media worker role's policy reads it. */
const GRANTED_VIDEO = '${aws:PrincipalTag/videoId}';

/** Keys the pipeline may write or delete in the media bucket (defined beside `AppFunction.useMediaBucket`). */
export { MEDIA_KEYS } from '#lib/constructs/app-function';

/**
 * A dependency throttling or briefly down (the table, a bucket, Lambda itself): retried for
 * minutes, not seconds, so a short outage delays videos instead of failing them. With full jitter
 * the waits add up to 0–3.5 min (about 1.75 on average); well under a 30 s outage is unlikely.
 */
export const DependencyErrors = [
  'UnavailableError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/**
 * Other errors retried with backoff, a few times. `States.TaskFailed` matches every error a task
 * raises except a `States.Timeout`; the permanent ones are stopped before it by a retrier with no
 * attempts (the first retrier whose `ErrorEquals` matches decides). The named errors are listed
 * for readers.
 */
export const TransientErrors = ['TranscodeCrashedError', 'States.TaskFailed'] as const;

/** Props of {@link TranscodeWorkflow}. */
export interface TranscodeWorkflowProps {
  /** The single table (claim, progress, publish, fail). */
  readonly table: ITableV2;
  /** Original uploads: read by the media tasks. */
  readonly rawBucket: IBucket;
  /** Derived media: written under `videos/*` only. */
  readonly mediaBucket: IBucket;
  /** The layer with `/opt/bin/ffmpeg` and `/opt/bin/ffprobe`. */
  readonly ffmpegLayer: ILayerVersion;
  /**
   * Which engine transcodes: `ffmpeg` (chunked, in Lambda) or `mediaconvert` (one `.sync` job).
   * @default 'ffmpeg'
   */
  readonly transcoder?: Transcoder;
  /**
   * Media segment length, seconds (`Env.segmentSeconds`).
   * @default 6
   */
  readonly segmentSeconds?: number;
  /**
   * Target length of a transcode chunk, seconds; a multiple of `segmentSeconds` (`Env.chunkSeconds`).
   * @default 60
   */
  readonly chunkSeconds?: number;
  /**
   * How many chunks transcode at once (the Map's `MaxConcurrency`); 0 means as many as Step
   * Functions runs (an inline Map runs up to 40 iterations at a time).
   * @default 0
   */
  readonly chunkConcurrency?: number;
  /**
   * Only these rungs (`Env.ladderRungs`).
   * @default - every rung up to the source's height
   */
  readonly ladderRungs?: readonly string[];
  /**
   * Memory of the chunk worker, MiB; Lambda gives about one vCPU per 1,769 MiB (6 at 10,240).
   * New accounts may be capped at 3,008 MiB until the quota is raised.
   * @default 10240
   */
  readonly chunkMemoryMiB?: number;
  /**
   * Deadline of a whole execution.
   * @default Duration.hours(6)
   */
  readonly timeout?: Duration;
  /**
   * Deadline of the MediaConvert job (transcoder `mediaconvert`).
   * @default Duration.hours(4)
   */
  readonly mediaConvertTimeout?: Duration;
  /**
   * How long execution and function logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * Key that encrypts the execution log group and the task functions' log groups.
   * @default - a new customer-managed key with yearly rotation that admits CloudWatch Logs
   */
  readonly logEncryptionKey?: IKey;
}

/**
 * The transcode workflow: a Standard state machine that turns one upload into an adaptive ladder,
 * or marks it failed with a reason. State names come from `StateNames` (`#contracts/workflow`).
 *
 * 1. `Claim` (Lambda) — `uploaded → processing`, conditional. Receives the execution input
 *    `WorkflowInput {videoId, generation}`; returns `JobState {videoId, generation, rawKey}`,
 *    which becomes the whole state (ResultPath `$`).
 * 2. `Probe` (Lambda) — receives the state; returns `Probe` → `$.probe`.
 *    Every task that runs ffmpeg (Probe, each TranscodeChunk, TranscodeAudio, Thumbnails) comes
 *    right after a Grant state of its own (`GrantProbe`, `GrantChunk`, …; one `Grant` function):
 *    it puts a `WorkerGrant` at `$.grant`, which the task opens and works with, and the task's
 *    first catch (`GrantExpiredError`) goes back to that Grant state for a fresh one.
 * 3. `Plan` (Lambda) — receives the state; returns `Plan` → `$.plan`.
 * 4. `Transcode` (Parallel; its input is the state, its result → `$.transcode`):
 *    a. `Chunks` (Map over `$.plan.chunks`): each `TranscodeChunk` (Lambda) receives a
 *       `ChunkTask {videoId, generation, rawKey, plan, chunk, fps: $.probe.fps}` and returns a
 *       small chunk summary (keep it under ~1 KB: all of them travel on in the state, whose
 *       limit is 256 KB). The branch's output is the array of summaries, in chunk order.
 *    b. `TranscodeAudio` (Lambda) — receives the state (a video-only plan has `plan.audio`
 *       false: return a summary saying so); returns an audio summary.
 *    c. `Thumbnails` (Lambda) — receives the state; returns `{poster, …}` (it needs only the
 *       source, so it runs beside the chunks rather than after them).
 *    `$.transcode` = `{chunks, audio, thumbnails}` (ResultSelector).
 *    With `transcoder: 'mediaconvert'`, 4 is instead `MediaConvertSettings` (Lambda, receives
 *    `{input, outputPrefix, rungs, segmentSeconds, audio}`, returns `{settings, manifests}` →
 *    `$.mediaConvert`) then `Transcode` (MediaConvert CreateJob `.sync`, → `$.transcode =
 *    {jobId}`), and 5 is a Pass state copying `$.mediaConvert.manifests` to `$.package`.
 * 5. `Package` (Lambda) — receives the state; returns `{hlsMaster, dashManifest, durationSeconds,
 *    renditions}` → `$.package`.
 * 6. (MediaConvert only) `Thumbnails` (Lambda) after Package → `$.thumbnails`.
 * 7. `Publish` (Lambda) — receives the state; returns `{status: 'ready'}` → `$.publish`. The
 *    execution's output is the final state.
 * 8. Any error left after retries in 1–7 is caught (`States.ALL`, ResultPath `$.error`, so the
 *    state keeps what it had): `Fail` (Lambda) receives the state plus `error: {Error, Cause}`,
 *    records `failed` with a reason and deletes `videos/<id>/`; its result is discarded.
 * 9. `Failed` (Fail state) ends the execution with `$.error.Error` / `$.error.Cause`.
 *
 * Every Lambda task is invoked with its input as the payload and its return value as the result
 * (`payloadResponseOnly`: no `{Payload, StatusCode}` envelope to unwrap), has a timeout a little
 * longer than its function's, retries an unavailable dependency (`DependencyErrors`: 11 attempts,
 * backoff from 2 s capped at 30 s, full jitter) and other transient errors (`TransientErrors`:
 * three attempts in all, backoff from 2 s, full jitter), and never retries `PermanentErrors`.
 */
export class TranscodeWorkflow extends Construct {
  /** The state machine (construct id `Resource`). */
  public readonly stateMachine: StateMachine;
  /** The function behind each Lambda task, by state name. */
  public readonly functions: Readonly<Partial<Record<TaskState, AppFunction>>>;
  /** The key the workflow's log groups are encrypted with. */
  public readonly logEncryptionKey: IKey;
  /**
   * What an ffmpeg task may touch, one video at a time: its source object (read), its prefix of
   * the media bucket (write) and its item in the table (UpdateItem, for chunk progress). Only the
   * Grant function may assume it, and only with the session tag `videoId`, which the policy's
   * keys are named by.
   */
  public readonly mediaWorkerRole: Role;
  /** Seals worker grants in the workflow's state: the Grant function encrypts, ffmpeg tasks decrypt. */
  public readonly grantKey: Key;
  /** The transcoder the definition was built for. */
  public readonly transcoder: Transcoder;

  private readonly props: TranscodeWorkflowProps;
  private readonly logRetention: RetentionDays;
  private readonly env: Partial<Record<EnvName, string | number>>;
  private readonly taskFunctions: Partial<Record<TaskState, AppFunction>> = {};
  /** The one function behind every Grant state. */
  private readonly grantFunction: AppFunction;

  constructor(scope: Construct, id: string, props: TranscodeWorkflowProps) {
    super(scope, id);
    this.props = props;
    this.transcoder = props.transcoder ?? 'ffmpeg';
    this.logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    this.logEncryptionKey = props.logEncryptionKey ?? this.createLogKey();
    const segmentSeconds = props.segmentSeconds ?? 6;
    const chunkSeconds = props.chunkSeconds ?? 60;
    if (!(segmentSeconds > 0 && chunkSeconds > 0 && Number.isInteger(chunkSeconds / segmentSeconds))) {
      throw new Error(`${this.node.path}: chunkSeconds (${chunkSeconds}) must be a positive multiple of segmentSeconds (${segmentSeconds})`);
    }
    this.env = {
      [Env.tableName]: props.table.tableName,
      [Env.segmentSeconds]: segmentSeconds,
      [Env.chunkSeconds]: chunkSeconds,
      ...(props.ladderRungs ? { [Env.ladderRungs]: props.ladderRungs.join(',') } : {}),
    };

    this.grantKey = new Key(this, 'GrantKey', {
      description: 'Seals the vodstack media worker grants (per-video credentials) in the transcode workflow state',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.grantFunction = this.taskFunction(StateNames.grant);
    this.mediaWorkerRole = this.createMediaWorkerRole(this.grantFunction);

    const fail = this.failPath();
    const claim = this.lambdaTask(StateNames.claim, '$', fail);
    const probe = this.granted(StateNames.grantProbe, StateNames.probe, '$.probe', fail);
    const plan = this.lambdaTask(StateNames.plan, '$.plan', fail);
    const publish = this.lambdaTask(StateNames.publish, '$.publish', fail);
    // ffmpeg makes thumbnails beside the chunks (off the critical path); MediaConvert after its job.
    const [transcode, pack] = this.transcoder === 'mediaconvert' ? this.mediaConvertSteps(fail) : this.ffmpegSteps(fail);
    const afterPack =
      this.transcoder === 'mediaconvert'
        ? this.granted(StateNames.grantThumbnails, StateNames.thumbnails, '$.thumbnails', fail).next(publish)
        : publish;

    const logGroup = new LogGroup(this, 'Logs', {
      retention: this.logRetention,
      encryptionKey: this.logEncryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'Resource', {
      comment: 'vodstack: upload → probe → plan → transcode → package → thumbnails → publish',
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(Chain.start(claim).next(probe).next(plan).next(transcode).next(pack).next(afterPack)),
      timeout: props.timeout ?? Duration.hours(6),
      tracingEnabled: true,
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: true },
    });
    const metadata: WorkflowMetadata = { transcoder: this.transcoder };
    (this.stateMachine.node.defaultChild as CfnResource).addMetadata(Metadata.workflow, metadata);
    this.functions = this.taskFunctions;
    this.acknowledgeStateMachineFindings();
  }

  /** 4–5 with ffmpeg: chunks ‖ audio, then the Package Lambda. */
  private ffmpegSteps(fail: TaskStateBase): [IChainable & INextable, IChainable & INextable] {
    const chunks = new MapState(this, StateNames.chunks, {
      itemsPath: '$.plan.chunks',
      itemSelector: {
        videoId: JsonPath.stringAt('$.videoId'),
        generation: JsonPath.numberAt('$.generation'),
        rawKey: JsonPath.stringAt('$.rawKey'),
        plan: JsonPath.objectAt('$.plan'),
        chunk: JsonPath.objectAt('$$.Map.Item.Value'),
        fps: JsonPath.numberAt('$.probe.fps'),
        // Claim always puts one in the state, so each chunk logs under the execution's id.
        correlationId: JsonPath.stringAt('$.correlationId'),
      },
      maxConcurrency: this.props.chunkConcurrency ?? 0,
    }).itemProcessor(this.granted(StateNames.grantChunk, StateNames.transcodeChunk, '$'));
    const transcode = new Parallel(this, StateNames.transcode, {
      resultSelector: {
        chunks: JsonPath.listAt('$[0]'),
        audio: JsonPath.objectAt('$[1]'),
        thumbnails: JsonPath.objectAt('$[2]'),
      },
      resultPath: '$.transcode',
    })
      .branch(chunks)
      .branch(this.granted(StateNames.grantAudio, StateNames.transcodeAudio, '$'))
      .branch(this.granted(StateNames.grantThumbnails, StateNames.thumbnails, '$'))
      .addCatch(fail, { errors: ['States.ALL'], resultPath: '$.error' });
    return [transcode, this.lambdaTask(StateNames.package, '$.package', fail)];
  }

  /** 4–5 with MediaConvert: job settings from the plan, the `.sync` job, then the manifests it wrote. */
  private mediaConvertSteps(fail: TaskStateBase): [IChainable & INextable, IChainable & INextable] {
    const { rawBucket, mediaBucket } = this.props;
    const mediaConvert = new MediaConvertTranscoder(this, 'MediaConvert', { rawBucket, mediaBucket, mediaKeyPattern: MEDIA_KEYS });
    const settings = this.lambdaTask(MediaConvertStateNames.settings, '$.mediaConvert', fail, {
      input: JsonPath.format(`s3://${rawBucket.bucketName}/{}`, JsonPath.stringAt('$.rawKey')),
      outputPrefix: JsonPath.format(`s3://${mediaBucket.bucketName}/${MediaLayout.prefix('{}')}`, JsonPath.stringAt('$.videoId')),
      rungs: JsonPath.listAt('$.plan.rungs'),
      segmentSeconds: JsonPath.numberAt('$.plan.segmentSeconds'),
      audio: JsonPath.stringAt('$.plan.audio'),
    });
    const job = mediaConvert.createJobTask(StateNames.transcode, {
      settingsPath: '$.mediaConvert.settings',
      timeout: this.props.mediaConvertTimeout ?? Duration.hours(4),
    });
    withRetries(job).addCatch(fail, { errors: ['States.ALL'], resultPath: '$.error' });
    const pack = new Pass(this, StateNames.package, {
      comment: 'MediaConvert wrote the HLS master and the DASH MPD itself; record where.',
      parameters: {
        hlsMaster: JsonPath.stringAt('$.mediaConvert.manifests.hlsMaster'),
        dashManifest: JsonPath.stringAt('$.mediaConvert.manifests.dash'),
        durationSeconds: JsonPath.numberAt('$.probe.durationSeconds'),
        renditions: JsonPath.listAt('$.plan.rungs'),
      },
      resultPath: '$.package',
    });
    return [settings.next(job), pack];
  }

  /** 8–9: the Fail task (records the reason, removes partial outputs) and the terminal Fail state. */
  private failPath(): TaskStateBase {
    const failed = new Fail(this, StateNames.failed, { errorPath: '$.error.Error', causePath: '$.error.Cause' });
    const task = this.lambdaTask(StateNames.fail, JsonPath.DISCARD);
    // Even if recording the failure fails, the execution still ends in `Failed` with the original error.
    task.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.failError' });
    task.next(failed);
    return task;
  }

  /**
   * The Lambda task `state` (see `tasks`) with its function, retries, a timeout 30 s longer than
   * the function's (so the function's own timeout fires first and is retried), and with `fail`
   * the catch. Its payload is the state's input unless `payload` builds one.
   */
  private lambdaTask(state: TaskState, resultPath: string, fail?: TaskStateBase, payload?: Record<string, unknown>): LambdaInvoke {
    return this.invoke(state, this.taskFunction(state), resultPath, fail, payload);
  }

  /**
   * The grant state `grantState` (result → `$.grant`), then the ffmpeg task `state`, which works
   * with that grant and goes back for a new one if it would expire before the task could finish.
   */
  private granted(grantState: GrantState, state: TaskState, resultPath: string, fail?: TaskStateBase): Chain {
    const grant = this.invoke(grantState, this.grantFunction, '$.grant', fail);
    const task = this.invoke(state, this.taskFunction(state), resultPath, fail, undefined, grant);
    return Chain.start(grant).next(task);
  }

  /** A Lambda task of `fn` (see `lambdaTask`); `regrant` takes `GrantExpiredError` before `fail` takes the rest. */
  private invoke(
    state: string,
    fn: AppFunction,
    resultPath: string,
    fail?: TaskStateBase,
    payload?: Record<string, unknown>,
    regrant?: TaskStateBase,
  ): LambdaInvoke {
    const task = new LambdaInvoke(this, state, {
      // The alias, not the function: CodeDeploy shifts it between versions (`AppFunction.live`).
      lambdaFunction: fn.live,
      payloadResponseOnly: true,
      ...(payload ? { payload: TaskInput.fromObject(payload) } : {}),
      retryOnServiceExceptions: false,
      resultPath,
      taskTimeout: Timeout.duration(fn.timeout!.plus(Duration.seconds(30))),
    });
    withRetries(task);
    if (regrant) task.addCatch(regrant, { errors: [GRANT_EXPIRED], resultPath: '$.expiredGrant' });
    if (fail) task.addCatch(fail, { errors: ['States.ALL'], resultPath: '$.error' });
    return task;
  }

  /** The function of task `state`: sized, bound to what `tasks` lists and nothing else. */
  private taskFunction(state: TaskState): AppFunction {
    const spec: TaskSpec = tasks[state];
    const { table, rawBucket, mediaBucket, ffmpegLayer } = this.props;
    const fn = new AppFunction(this, `${state}Function`, {
      module: spec.module,
      description: `Transcode workflow: ${state}`,
      memorySize: state === StateNames.transcodeChunk ? (this.props.chunkMemoryMiB ?? spec.memorySize) : spec.memorySize,
      timeout: spec.timeout,
      logRetention: this.logRetention,
      logEncryptionKey: this.logEncryptionKey,
      ...(spec.ffmpeg ? { layers: [ffmpegLayer], ephemeralStorageSize: Size.gibibytes(10) } : {}),
    });
    for (const [name, value] of Object.entries(this.env)) fn.setEnv(name as EnvName, value);
    if (spec.ffmpeg) fn.setEnv(Env.ffmpegPath, FfmpegLayerPaths.ffmpeg).setEnv(Env.ffprobePath, FfmpegLayerPaths.ffprobe);
    if (spec.writesTable) fn.useTable(table, 'readWrite');
    if (spec.readsRaw) fn.useRawBucket(rawBucket, 'read');
    if (spec.media) fn.useMediaBucket(mediaBucket, ...spec.media);
    if (spec.grants === 'open') {
      // Bucket names only: every S3 call goes through the grant's credentials.
      fn.setEnv(Env.rawBucket, rawBucket.bucketName).setEnv(Env.mediaBucket, mediaBucket.bucketName).setEnv(Env.grantKeyId, this.grantKey.keyArn);
      this.grantKey.grantDecrypt(fn);
    }
    // `mint` (the Grant function) is wired in createMediaWorkerRole, with the role it assumes.

    (fn.node.defaultChild as CfnResource).addMetadata(Metadata.workflowTask, state);
    Validations.of(fn).acknowledge(
      ...['Serverless-LambdaDLQ', 'Serverless-LambdaAsyncFailureDestination'].map((id) => ({
        id,
        reason: 'Step Functions invokes workflow tasks synchronously and handles every error itself (retry, then catch into Fail); there is no asynchronous invocation to dead-letter.',
      })),
    );
    this.taskFunctions[state] = fn;
    return fn;
  }

  /**
   * The media worker role (see `mediaWorkerRole`). Its trust names the Grant function's role
   * (`minter`), which alone may assume it, and requires exactly one session tag,
   * `videoId`; its policy names keys by that tag, so no session reaches a second video.
   */
  private createMediaWorkerRole(minter: AppFunction): Role {
    const { rawBucket, mediaBucket, table } = this.props;
    const role = new Role(this, 'MediaWorkerRole', {
      description: 'vodstack ffmpeg tasks, one video per session: its source object (read), its media prefix (write), its item (progress)',
      assumedBy: new ArnPrincipal(minter.role!.roleArn).withSessionTags().withConditions({
        StringLike: { 'aws:RequestTag/videoId': '?*' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['videoId'] },
      }),
      maxSessionDuration: Duration.hours(1),
    });
    BucketGrants.fromBucket(rawBucket).actionsOnObjectKeys(role, RawLayout.source(GRANTED_VIDEO), 's3:GetObject', 'kms:Decrypt');
    const outputs = `${MediaLayout.prefix(GRANTED_VIDEO)}*`;
    BucketGrants.fromBucket(mediaBucket).actionsOnObjectKeys(role, outputs, 's3:PutObject', 's3:AbortMultipartUpload', 'kms:GenerateDataKey');
    acknowledgeResource(
      role,
      'AwsSolutions-IAM5',
      `${mediaBucket.bucketArn}/${outputs}`,
      "A session writes the files it makes (segments, playlists, thumbnails) under its own video's prefix only: the prefix is named by the session tag.",
    );
    // Chunk progress: UpdateItem on the table, only on items whose partition key is this video's.
    Grant.addToPrincipal({
      grantee: role,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [table.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [videoKey(GRANTED_VIDEO).pk] } },
    });
    table.encryptionKey?.grant(role, ...TABLE_KEY_WRITE_ACTIONS);
    for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: `${action} is what TableV2.grantWriteData grants on the table's own key so DynamoDB can encrypt the progress it writes; the resource is that one key.`,
      });
    }
    minter.setEnv(Env.mediaWorkerRoleArn, role.roleArn).setEnv(Env.grantKeyId, this.grantKey.keyArn);
    this.grantKey.grant(minter, 'kms:Encrypt');
    // TagSession too: the trust policy admits a session only with the videoId tag.
    Grant.addToPrincipal({ grantee: minter, actions: ['sts:AssumeRole', 'sts:TagSession'], resourceArns: [role.roleArn] });
    return role;
  }

  private acknowledgeStateMachineFindings(): void {
    const role = this.stateMachine.role;
    const mediaConvert =
      this.transcoder === 'mediaconvert'
        ? ' MediaConvert: mediaconvert:CreateJob/GetJob/CancelJob get * because a job id only exists once CreateJob returns it (the job role it may pass is scoped).'
        : '';
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `Step Functions logging (logs:CreateLogDelivery and the other vended-log delivery calls) and X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSampling*) support no resource-level permissions.${mediaConvert}`,
    });
    // Tasks invoke each function's `live` alias, and the grant names exactly those alias ARNs: no wildcard to acknowledge.
  }

  private createLogKey(): Key {
    const key = new Key(this, 'LogsKey', {
      description: 'Encrypts the vodstack transcode workflow and pipeline function logs',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch Logs encrypts with the key on the log groups' behalf, scoped to this account's groups.
    key.grantEncryptDecrypt(new ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)).resourceStatement?.addCondition('ArnLike', {
      'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
    });
    return key;
  }
}

/** What a task's function is sized for and may touch (least privilege: nothing unlisted). */
interface TaskSpec {
  readonly module: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Runs ffmpeg/ffprobe: the layer, `Env.ffmpegPath`/`Env.ffprobePath`, and 10 GiB of `/tmp`. */
  readonly ffmpeg?: boolean;
  /** Writes video items (claim, publish, failure). Every task gets `Env.tableName`. */
  readonly writesTable?: boolean;
  /** Reads originals (GetObject and the raw key). */
  readonly readsRaw?: boolean;
  /** Access to `videos/*` of the media bucket. */
  readonly media?: readonly MediaBucketAccess[];
  /**
   * `mint`: the Grant task, the one function that may assume the media worker role. `open`: runs
   * ffmpeg on a user's file, so it has no S3 access of its own, only the grant it is handed.
   */
  readonly grants?: 'mint' | 'open';
}

/** Every Lambda task of the workflow, by state name. */
const tasks = {
  [StateNames.claim]: { module: TaskHandlers.Claim, memorySize: 512, timeout: Duration.seconds(30), writesTable: true },
  [StateNames.grant]: { module: TaskHandlers.Grant, memorySize: 512, timeout: Duration.seconds(30), grants: 'mint' },
  [StateNames.probe]: { module: TaskHandlers.Probe, memorySize: 2048, timeout: Duration.minutes(3), ffmpeg: true, grants: 'open' },
  [StateNames.plan]: { module: TaskHandlers.Plan, memorySize: 512, timeout: Duration.seconds(30) },
  [StateNames.transcodeChunk]: {
    module: TaskHandlers.TranscodeChunk,
    memorySize: 10240,
    timeout: Duration.minutes(15),
    ffmpeg: true,
    grants: 'open',
  },
  [StateNames.transcodeAudio]: { module: TaskHandlers.TranscodeAudio, memorySize: 3008, timeout: Duration.minutes(15), ffmpeg: true, grants: 'open' },
  // Package runs no ffmpeg: it stitches our own chunk summaries into manifests, with its own role.
  [StateNames.package]: { module: TaskHandlers.Package, memorySize: 3008, timeout: Duration.minutes(10), media: ['read', 'write', 'list'] },
  [StateNames.thumbnails]: { module: TaskHandlers.Thumbnails, memorySize: 3008, timeout: Duration.minutes(10), ffmpeg: true, grants: 'open' },
  [StateNames.publish]: { module: TaskHandlers.Publish, memorySize: 512, timeout: Duration.seconds(30), writesTable: true },
  [StateNames.fail]: { module: TaskHandlers.Fail, memorySize: 1024, timeout: Duration.minutes(5), writesTable: true, media: ['delete', 'list'] },
  [MediaConvertStateNames.settings]: { module: MediaConvertStateNames.settingsHandler, memorySize: 512, timeout: Duration.seconds(30) },
} as const satisfies Record<string, TaskSpec>;
type TaskState = keyof typeof tasks;
type GrantState = typeof StateNames.grantProbe | typeof StateNames.grantChunk | typeof StateNames.grantAudio | typeof StateNames.grantThumbnails;

/**
 * Adds the workflow's retry policy: permanent errors never, an unavailable dependency up to 11
 * attempts (`DependencyErrors`), other transient errors up to 3.
 */
export function withRetries<T extends TaskStateBase>(task: T): T {
  // An expired grant is not retried either: the task's catch goes back for a new one.
  task.addRetry({ errors: [...PermanentErrors, GRANT_EXPIRED], maxAttempts: 0 });
  task.addRetry({
    errors: [...DependencyErrors],
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 10,
    maxDelay: Duration.seconds(30),
    jitterStrategy: JitterType.FULL,
  });
  task.addRetry({
    errors: [...TransientErrors],
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 2,
    maxDelay: Duration.seconds(30),
    jitterStrategy: JitterType.FULL,
  });
  return task;
}

