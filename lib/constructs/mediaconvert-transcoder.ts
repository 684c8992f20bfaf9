import type { Duration } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { BucketGrants, type IBucket } from 'aws-cdk-lib/aws-s3';
import { IntegrationPattern, JsonPath, Timeout } from 'aws-cdk-lib/aws-stepfunctions';
import { MediaConvertCreateJob } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { RAW_KEYS } from '#lib/constructs/app-function';
import { acknowledgeResource } from '#lib/nag';

/**
 * The states the MediaConvert variant adds to the workflow, and the handler of its one Lambda.
 * (Candidates for `StateNames`/`TaskHandlers` in `#contracts/workflow`.)
 */
export const MediaConvertStateNames = {
  /** Lambda: the plan → the job's `Settings` (`buildMediaConvertJob`). */
  settings: 'MediaConvertSettings',
  settingsHandler: 'pipeline/mediaconvert-settings',
} as const;

/** Props of {@link MediaConvertTranscoder}. */
export interface MediaConvertTranscoderProps {
  /** Originals the job reads. */
  readonly rawBucket: IBucket;
  /** Where the job writes renditions and manifests. */
  readonly mediaBucket: IBucket;
  /** The only keys of `mediaBucket` the job may write, e.g. `videos/*`. */
  readonly mediaKeyPattern: string;
}

/** Options of {@link MediaConvertTranscoder.createJobTask}. */
export interface CreateJobTaskOptions {
  /** JSONPath of the job `Settings` in the state, e.g. `$.mediaConvert.settings`. */
  readonly settingsPath: string;
  /** How long the job may run before the task fails with `States.Timeout`. */
  readonly timeout: Duration;
}

/**
 * AWS Elemental MediaConvert as the workflow's transcoder: the role jobs run as (read originals,
 * write `mediaKeyPattern` in the media bucket, nothing else) and the `.sync` CreateJob task, which
 * waits for the job to finish (Step Functions follows it through EventBridge).
 *
 * Why a Lambda builds the settings at run time (rather than a fixed ladder at synth): the number
 * of outputs depends on the source (rungs no taller than it, an audio output only if it has
 * audio), and JSONPath cannot map a list of rungs to a list of outputs. A fixed 8-rung template
 * would still need a run-time step to drop rungs, so the builder (`buildMediaConvertJob`, pure and
 * unit-tested) runs in that step and the ladder logic stays in one place, the Plan task.
 */
export class MediaConvertTranscoder extends Construct {
  /** The role MediaConvert assumes for the job (construct id `JobRole`). */
  public readonly role: Role;

  constructor(scope: Construct, id: string, props: MediaConvertTranscoderProps) {
    super(scope, id);
    this.role = new Role(this, 'JobRole', {
      assumedBy: new ServicePrincipal('mediaconvert.amazonaws.com'),
      description: 'vodstack MediaConvert jobs: read original uploads, write derived media',
    });
    BucketGrants.fromBucket(props.rawBucket).actionsOnObjectKeys(this.role, RAW_KEYS, 's3:GetObject', 'kms:Decrypt');
    // MediaConvert may write large outputs in parts: with SSE-KMS that needs kms:Decrypt too.
    BucketGrants.fromBucket(props.mediaBucket).actionsOnObjectKeys(
      this.role,
      props.mediaKeyPattern,
      's3:PutObject',
      's3:AbortMultipartUpload',
      'kms:GenerateDataKey',
      'kms:Decrypt',
    );
    acknowledgeResource(
      this.role,
      'AwsSolutions-IAM5',
      `${props.rawBucket.bucketArn}/${RAW_KEYS}`,
      'A job reads the one original named in its settings; keys are derived from video ids created at run time, and access is GetObject in this bucket only.',
    );
    acknowledgeResource(
      this.role,
      'AwsSolutions-IAM5',
      `${props.mediaBucket.bucketArn}/${props.mediaKeyPattern}`,
      'A job writes the renditions of one video under videos/<id>/, an id created at run time; access is PutObject under videos/ only.',
    );
  }

  /**
   * The `.sync` CreateJob task; its result is `{jobId}` at `$.transcode`. Retries and catch are the
   * caller's. It grants the state machine mediaconvert:CreateJob/GetJob/CancelJob on `*` (job ids
   * do not exist before CreateJob), iam:PassRole on {@link role} only, and the EventBridge rule
   * Step Functions manages to follow the job.
   */
  public createJobTask(stateName: string, options: CreateJobTaskOptions): MediaConvertCreateJob {
    const task = new MediaConvertCreateJob(this, stateName, {
      stateName,
      integrationPattern: IntegrationPattern.RUN_JOB,
      createJobRequest: {
        Role: this.role.roleArn,
        Settings: JsonPath.objectAt(options.settingsPath),
        UserMetadata: {
          videoId: JsonPath.stringAt('$.videoId'),
          generation: JsonPath.format('{}', JsonPath.stringAt('$.generation')),
          execution: JsonPath.executionName,
        },
      },
      resultSelector: { jobId: JsonPath.stringAt('$.Job.Id') },
      resultPath: '$.transcode',
      taskTimeout: Timeout.duration(options.timeout),
    });
    return task;
  }
}
