import { Arn, ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { Env } from '#contracts/env';
import { PipelineHandlers } from '#contracts/workflow';
import { AppFunction } from '#lib/constructs/app-function';
import { acknowledgeResource } from '#lib/nag';

/** Props of {@link UploadTriggers}. */
export interface UploadTriggersProps {
  /** The single table (the starter reads videos; the sweeper reads and updates them). */
  readonly table: ITableV2;
  /** The bucket whose `Object Created` events start the workflow; it must send events to EventBridge. */
  readonly rawBucket: IBucket;
  /** The transcode workflow both functions start. */
  readonly workflow: IStateMachine;
  /**
   * Videos in `uploaded`/`processing` longer than this are restarted or failed by the sweeper.
   * @default 30
   */
  readonly stuckAfterMinutes?: number;
  /**
   * How often the sweeper runs.
   * @default Duration.minutes(5)
   */
  readonly sweepEvery?: Duration;
  /**
   * How long function logs are kept.
   * @default - `AppFunction`'s default
   */
  readonly logRetention?: RetentionDays;
  /**
   * Key that encrypts the functions' log groups.
   * @default - CloudWatch Logs' own encryption at rest
   */
  readonly logEncryptionKey?: IKey;
}

/**
 * What starts the workflow besides the API's complete-upload call, so that no upload is lost and
 * none runs twice (every start uses the deterministic execution name, so a second one is a no-op):
 * - the raw bucket's EventBridge `Object Created` events (every kind, no key filter: `.MOV` and
 *   multipart completions count) → an encrypted, TLS-only SQS queue (5 receives, then the dead
 *   letter queue; visibility 6× the starter's timeout) → the starter (batches of 10, failures
 *   reported per message);
 * - a schedule → the sweeper, which restarts or fails videos stuck past a deadline.
 * Events EventBridge cannot deliver, and sweeper runs that keep failing, also land in the dead
 * letter queue.
 */
export class UploadTriggers extends Construct {
  /** Object Created events waiting for the starter (construct id `Queue`). */
  public readonly queue: Queue;
  /** Messages nothing could process (construct id `DeadLetters`). */
  public readonly deadLetters: Queue;
  /** Starts the workflow for a stored original. */
  public readonly starter: AppFunction;
  /** Restarts or fails stuck videos. */
  public readonly sweeper: AppFunction;
  /** The `Object Created` rule. */
  public readonly objectCreatedRule: Rule;

  constructor(scope: Construct, id: string, props: UploadTriggersProps) {
    super(scope, id);
    const { table, rawBucket, workflow } = props;
    const logs = { logRetention: props.logRetention, logEncryptionKey: props.logEncryptionKey };

    this.starter = new AppFunction(this, 'Starter', {
      module: PipelineHandlers.starter,
      description: 'Raw bucket Object Created (via SQS) → start the transcode workflow',
      memorySize: 512,
      timeout: Duration.seconds(30),
      ...logs,
    });
    this.starter.useTable(table, 'read');
    this.starter.setEnv(Env.workflowArn, workflow.stateMachineArn);
    workflow.grantStartExecution(this.starter);

    const key = new Key(this, 'QueueKey', {
      description: 'Encrypts the vodstack upload event queues',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.deadLetters = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      // A message in flight stays hidden while the starter and up to 5 of its retries could run.
      visibilityTimeout: Duration.seconds(6 * this.starter.timeout!.toSeconds()),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: 5 },
    });
    this.starter.live.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }));

    this.objectCreatedRule = new Rule(this, 'ObjectCreated', {
      description: 'Every object stored in the raw bucket (any key, any way it was written)',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [rawBucket.bucketName] } },
      },
      targets: [new SqsQueue(this.queue, { deadLetterQueue: this.deadLetters, maxEventAge: Duration.hours(24), retryAttempts: 185 })],
    });

    this.sweeper = new AppFunction(this, 'Sweeper', {
      module: PipelineHandlers.sweeper,
      description: 'Every few minutes: restart or fail videos stuck in uploaded/processing',
      memorySize: 512,
      timeout: Duration.minutes(2),
      deadLetterQueue: this.deadLetters,
      ...logs,
    });
    // Lambda sends failed async events to the dead letter queue as the function, so it needs the queue key too.
    this.deadLetters.grantSendMessages(this.sweeper);
    this.sweeper.useTable(table, 'readWrite');
    this.sweeper.setEnv(Env.workflowArn, workflow.stateMachineArn).setEnv(Env.stuckAfterMinutes, props.stuckAfterMinutes ?? 30);
    workflow.grantStartExecution(this.sweeper);
    workflow.grantExecution(this.sweeper, 'states:DescribeExecution');
    new Rule(this, 'SweepSchedule', {
      description: 'Runs the stuck-video sweeper',
      schedule: Schedule.rate(props.sweepEvery ?? Duration.minutes(5)),
      targets: [new LambdaFunction(this.sweeper.live, { deadLetterQueue: this.deadLetters, maxEventAge: Duration.minutes(5), retryAttempts: 2 })],
    });

    this.acknowledgeFindings(workflow);
  }

  private acknowledgeFindings(workflow: IStateMachine): void {
    Validations.of(this.starter).acknowledge(
      {
        id: 'Serverless-LambdaDLQ',
        reason: 'The starter is invoked synchronously by its SQS event source mapping; failed messages go to the queue redrive dead letter queue, not a function DLQ.',
      },
      {
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason: 'On-failure destinations apply to stream and Kafka sources; for SQS the queue redrive policy (5 receives → dead letter queue) is the failure destination.',
      },
    );
    Validations.of(this.deadLetters).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'This is the dead letter queue of the upload event queue, the rule targets and the sweeper; a dead letter queue of its own would only move messages that already failed elsewhere.',
    });
    acknowledgeResource(
      this.sweeper,
      'AwsSolutions-IAM5',
      `${Stack.of(workflow).formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: Arn.split(workflow.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      })}:*`,
      'states:DescribeExecution on the executions of the one transcode state machine; execution names are derived from video ids at run time.',
    );
  }
}
