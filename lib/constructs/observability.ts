import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  TextWidget,
  TreatMissingData,
  type AlarmProps,
  type IAlarm,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, MetricDimensions, Metrics, type MetricName } from '#contracts/metrics';
import type { AlarmThresholds } from '#lib/stages';

/**
 * A custom metric of `#contracts/metrics`, one series per value of its dimension (per route, per
 * failure code, per sweeper action) without listing the values here: routes grow, failure codes
 * are open-ended. A SEARCH over the namespace and the name also keeps matching if the functions
 * ever publish the metric with another dimension set (CloudWatch matches a `Metric`'s dimensions
 * exactly, so a stale list would show an empty graph, not an error).
 */
export function searchCustomMetric(metric: MetricName, statistic: string, period = Duration.minutes(5), label?: string): MathExpression {
  return new MathExpression({
    expression: `SEARCH('Namespace="${METRICS_NAMESPACE}" MetricName="${metric}"', '${statistic}', ${period.toSeconds()})`,
    period,
    ...(label ? { label } : {}),
  });
}

/**
 * One series: the sum over every dimension combination of a custom count metric. A Metrics
 * Insights query, so it can drive an alarm (a SEARCH cannot).
 */
export function totalCustomMetric(metric: MetricName, period = Duration.minutes(5), label: string = metric): MathExpression {
  return new MathExpression({ expression: `SELECT SUM(${metric}) FROM "${METRICS_NAMESPACE}"`, period, label });
}

/** Props of {@link ApiServerErrorRateAlarm}. */
export interface ApiServerErrorRateAlarmProps extends Pick<AlarmProps, 'datapointsToAlarm' | 'alarmDescription'> {
  /**
   * Periods evaluated.
   * @default 1
   */
  readonly evaluationPeriods?: number;
  /** The API stage whose answers count. */
  readonly stage: Stage;
  /** Percentage of 5xx answers that breaches. */
  readonly thresholdPercent: number;
  /** Length of one datapoint. */
  readonly period: Duration;
}

/**
 * The API stage's 5xx rate, `100 × 5XXError / Count` (metric math over API Gateway's own
 * metrics), at or above a percentage. Periods without requests count as not breaching.
 */
export class ApiServerErrorRateAlarm extends Alarm {
  constructor(scope: Construct, id: string, props: ApiServerErrorRateAlarmProps) {
    const { stage, thresholdPercent, period, evaluationPeriods = 1, ...rest } = props;
    super(scope, id, {
      metric: new MathExpression({
        expression: 'IF(requests > 0, 100 * errors / requests, 0)',
        usingMetrics: {
          errors: stage.metricServerError({ period, statistic: 'Sum' }),
          requests: stage.metricCount({ period, statistic: 'Sum' }),
        },
        period,
        label: '5xx rate (%)',
      }),
      threshold: thresholdPercent,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      evaluationPeriods,
      ...rest,
    });
  }
}

/** A queue shown on the dashboard; dead letter queues also get an alarm. */
export interface WatchedQueue {
  /** How the dashboard and the alarm name it, e.g. `upload events`. */
  readonly label: string;
  readonly queue: IQueue;
  /** Whether it holds messages that failed elsewhere: any message in it pages. */
  readonly deadLetter: boolean;
}

/** Props of {@link PlatformObservability}. */
export interface PlatformObservabilityProps {
  /** The API stage (API Gateway's per-stage requests, errors and latency). */
  readonly apiStage: Stage;
  /** The transcode state machine. */
  readonly workflow: IStateMachine;
  /** Every queue of the platform. */
  readonly queues: readonly WatchedQueue[];
  /** Functions whose errors and throttles the dashboard shows, by label. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /**
   * Alarms made elsewhere to show on the dashboard (e.g. the deployment rollback alarms, which
   * live beside their functions).
   * @default - none
   */
  readonly otherAlarms?: readonly IAlarm[];
  /** When to page. */
  readonly thresholds: AlarmThresholds;
  /**
   * An address subscribed to the alarm topic (AWS sends it a confirmation link first).
   * @default - no subscription: subscribe to the `AlarmTopicArn` output yourself
   */
  readonly alarmEmail?: string;
  /**
   * The dashboard's name.
   * @default 'vodstack'
   */
  readonly dashboardName?: string;
}

/**
 * What tells an operator how the platform is doing:
 * - an SNS topic (encrypted with its own key, TLS-only) every alarm notifies, on alarm and on
 *   recovery, with an optional email subscription;
 * - alarms: the API's 5xx rate and p99 latency, every dead letter queue holding a message, workflow
 *   executions failed or timed out, and stuck videos (the sweeper found some);
 * - a dashboard: API requests, errors and latency per stage and per route (the functions' own
 *   metrics, `#contracts/metrics`), pipeline jobs, processing speed, executions, queue depths and
 *   sweeper finds, Lambda errors and throttles, and every alarm's state.
 * `docs/runbooks.md` has a section per alarm.
 */
export class PlatformObservability extends Construct {
  /** Where every alarm sends its notifications (construct id `AlarmTopic`). */
  public readonly topic: Topic;
  public readonly dashboard: Dashboard;
  /** The alarms made here, by what they watch. */
  public readonly alarms: {
    readonly apiServerErrorRate: Alarm;
    readonly apiLatencyP99: Alarm;
    readonly workflowFailed: Alarm;
    readonly workflowTimedOut: Alarm;
    readonly stuckVideos: Alarm;
    /** One per dead letter queue, by its label. */
    readonly deadLetters: Readonly<Record<string, Alarm>>;
  };

  constructor(scope: Construct, id: string, props: PlatformObservabilityProps) {
    super(scope, id);
    const { apiStage, workflow, thresholds } = props;
    const fiveMinutes = Duration.minutes(5);

    this.topic = this.createTopic(props.alarmEmail);
    const notify = new SnsAction(this.topic);
    const paging = (alarm: Alarm): Alarm => {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
      return alarm;
    };

    const apiServerErrorRate = paging(
      new ApiServerErrorRateAlarm(this, 'ApiServerErrorRate', {
        alarmDescription: `API 5xx answers ≥ ${thresholds.apiServerErrorRatePercent}% of requests in 2 of 3 five-minute periods. Runbook: docs/runbooks.md#api-5xx-rate`,
        stage: apiStage,
        thresholdPercent: thresholds.apiServerErrorRatePercent,
        period: fiveMinutes,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      }),
    );
    const apiLatencyP99 = paging(
      new Alarm(this, 'ApiLatencyP99', {
        alarmDescription: `API p99 latency ≥ ${thresholds.apiLatencyP99Ms} ms for 15 minutes. Runbook: docs/runbooks.md#api-p99-latency`,
        metric: apiStage.metricLatency({ statistic: 'p99', period: fiveMinutes }),
        threshold: thresholds.apiLatencyP99Ms,
        evaluationPeriods: 3,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    const countAlarm = (alarmId: string, metric: IMetric, threshold: number, description: string) =>
      paging(
        new Alarm(this, alarmId, {
          alarmDescription: description,
          metric,
          threshold,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    const workflowFailed = countAlarm(
      'WorkflowFailed',
      workflow.metricFailed({ period: fiveMinutes, statistic: 'Sum' }),
      thresholds.workflowFailures,
      `≥ ${thresholds.workflowFailures} transcode executions FAILED in 5 minutes. Runbook: docs/runbooks.md#workflow-executions-failed`,
    );
    const workflowTimedOut = countAlarm(
      'WorkflowTimedOut',
      workflow.metricTimedOut({ period: fiveMinutes, statistic: 'Sum' }),
      thresholds.workflowFailures,
      `≥ ${thresholds.workflowFailures} transcode executions TIMED_OUT in 5 minutes. Runbook: docs/runbooks.md#workflow-executions-timed-out`,
    );
    const stuckVideos = countAlarm(
      'StuckVideos',
      totalCustomMetric(Metrics.sweeperFound, fiveMinutes, 'stuck videos found'),
      1,
      'The sweeper found videos stuck in uploaded/processing past their deadline (restarted or failed). Runbook: docs/runbooks.md#stuck-videos',
    );
    const deadLetters: Record<string, Alarm> = {};
    for (const { label, queue } of props.queues.filter((q) => q.deadLetter)) {
      deadLetters[label] = countAlarm(
        `DeadLetters${pascal(label)}`,
        queue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
        1,
        `The ${label} dead letter queue holds messages: something failed for good and waits for a redrive. Runbook: docs/runbooks.md#dead-letter-queue-not-empty`,
      );
    }
    this.alarms = { apiServerErrorRate, apiLatencyP99, workflowFailed, workflowTimedOut, stuckVideos, deadLetters };

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? 'vodstack',
      defaultInterval: Duration.hours(3),
    });
    this.addApiWidgets(apiStage);
    this.addPipelineWidgets(workflow, props.queues);
    this.addFunctionWidgets(props.functions);
    this.dashboard.addWidgets(
      new AlarmStatusWidget({
        title: 'Alarms (paging, then deployment rollback)',
        width: 24,
        height: 6,
        alarms: [apiServerErrorRate, apiLatencyP99, workflowFailed, workflowTimedOut, stuckVideos, ...Object.values(deadLetters), ...(props.otherAlarms ?? [])],
      }),
    );
  }

  private createTopic(alarmEmail: string | undefined): Topic {
    const key = new Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the vodstack alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch publishes alarm notifications as itself, so it must be able to use the key.
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    const topic = new Topic(this, 'AlarmTopic', { displayName: 'vodstack alarms', masterKey: key, enforceSSL: true });
    topic.grantPublish(
      new ServicePrincipal('cloudwatch.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': topic.env.account },
        ArnLike: { 'aws:SourceArn': `arn:${topic.stack.partition}:cloudwatch:${topic.env.region}:${topic.env.account}:alarm:*` },
      }),
    );
    if (alarmEmail) {
      const subscription = topic.addSubscription(new EmailSubscription(alarmEmail));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'An email to a bouncing address cannot be redriven to anyone; the alarm state stays in CloudWatch and on the dashboard. Durable subscribers (SQS, chat) subscribe to the AlarmTopicArn output with their own redrive.',
      });
    }
    return topic;
  }

  private addApiWidgets(stage: Stage): void {
    const five = Duration.minutes(5);
    const requests = stage.metricCount({ period: five, statistic: 'Sum', label: 'requests' });
    this.dashboard.addWidgets(new TextWidget({ markdown: '## API', width: 24, height: 1 }));
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'API requests (stage)', width: 6, left: [requests] }),
      new GraphWidget({
        title: 'API 4xx / 5xx (stage)',
        width: 6,
        left: [stage.metricClientError({ period: five, statistic: 'Sum', label: '4xx' }), stage.metricServerError({ period: five, statistic: 'Sum', label: '5xx' })],
      }),
      new GraphWidget({
        title: 'API 5xx rate % (stage)',
        width: 6,
        left: [
          new MathExpression({
            expression: 'IF(requests > 0, 100 * errors / requests, 0)',
            usingMetrics: { errors: stage.metricServerError({ period: five, statistic: 'Sum' }), requests: stage.metricCount({ period: five, statistic: 'Sum' }) },
            period: five,
            label: '5xx %',
          }),
        ],
      }),
      new GraphWidget({
        title: 'API latency p50 / p99 (stage, ms)',
        width: 6,
        left: [stage.metricLatency({ period: five, statistic: 'p50', label: 'p50' }), stage.metricLatency({ period: five, statistic: 'p99', label: 'p99' })],
      }),
    );
    const byRoute = `per route (${MetricDimensions.route})`;
    this.dashboard.addWidgets(
      new GraphWidget({ title: `Requests ${byRoute}`, width: 6, left: [searchCustomMetric(Metrics.requests, 'Sum')] }),
      new GraphWidget({
        title: `4xx and 5xx ${byRoute}`,
        width: 6,
        left: [searchCustomMetric(Metrics.clientErrors, 'Sum')],
        right: [searchCustomMetric(Metrics.serverErrors, 'Sum')],
      }),
      new GraphWidget({ title: `Latency p50 ${byRoute}, ms`, width: 6, left: [searchCustomMetric(Metrics.latency, 'p50')] }),
      new GraphWidget({ title: `Latency p99 ${byRoute}, ms`, width: 6, left: [searchCustomMetric(Metrics.latency, 'p99')] }),
    );
  }

  private addPipelineWidgets(workflow: IStateMachine, queues: readonly WatchedQueue[]): void {
    const five = Duration.minutes(5);
    const one = Duration.minutes(1);
    this.dashboard.addWidgets(new TextWidget({ markdown: '## Pipeline', width: 24, height: 1 }));
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Jobs started / succeeded',
        width: 6,
        left: [totalCustomMetric(Metrics.jobsStarted, five, 'started'), totalCustomMetric(Metrics.jobsSucceeded, five, 'succeeded')],
      }),
      new GraphWidget({ title: `Jobs failed by ${MetricDimensions.code}`, width: 6, left: [searchCustomMetric(Metrics.jobsFailed, 'Sum')] }),
      new GraphWidget({
        title: 'Processing seconds per video minute (p50, p90)',
        width: 6,
        left: [searchCustomMetric(Metrics.processingSecondsPerVideoMinute, 'p50'), searchCustomMetric(Metrics.processingSecondsPerVideoMinute, 'p90')],
      }),
      new GraphWidget({ title: `Stuck videos found by ${MetricDimensions.action}`, width: 6, left: [searchCustomMetric(Metrics.sweeperFound, 'Sum')] }),
    );
    const sum = { period: five, statistic: 'Sum' };
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Workflow executions',
        width: 8,
        left: [
          workflow.metricStarted({ ...sum, label: 'started' }),
          workflow.metricSucceeded({ ...sum, label: 'succeeded' }),
          workflow.metricFailed({ ...sum, label: 'failed' }),
          workflow.metricTimedOut({ ...sum, label: 'timed out' }),
          workflow.metricAborted({ ...sum, label: 'aborted' }),
        ],
      }),
      new GraphWidget({
        title: 'Queue depth (visible messages, max)',
        width: 8,
        left: queues.filter((q) => !q.deadLetter).map((q) => q.queue.metricApproximateNumberOfMessagesVisible({ period: one, statistic: 'Maximum', label: q.label })),
        right: queues
          .filter((q) => !q.deadLetter)
          .map((q) => q.queue.metricApproximateAgeOfOldestMessage({ period: one, statistic: 'Maximum', label: `${q.label}: oldest (s)` })),
      }),
      new GraphWidget({
        title: 'Dead letter queue depth (visible messages, max)',
        width: 8,
        left: queues.filter((q) => q.deadLetter).map((q) => q.queue.metricApproximateNumberOfMessagesVisible({ period: one, statistic: 'Maximum', label: q.label })),
      }),
    );
  }

  private addFunctionWidgets(functions: Readonly<Record<string, IFunction>>): void {
    const entries = Object.entries(functions);
    const five = Duration.minutes(5);
    this.dashboard.addWidgets(new TextWidget({ markdown: '## Lambda', width: 24, height: 1 }));
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Lambda errors (all versions)',
        width: 12,
        height: 8,
        left: entries.map(([label, fn]) => fn.metricErrors({ period: five, statistic: 'Sum', label })),
      }),
      new GraphWidget({
        title: 'Lambda throttles (all versions)',
        width: 12,
        height: 8,
        left: entries.map(([label, fn]) => fn.metricThrottles({ period: five, statistic: 'Sum', label })),
      }),
    );
  }
}

/** `upload events` → `UploadEvents`, for construct ids. */
function pascal(label: string): string {
  return label
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}
