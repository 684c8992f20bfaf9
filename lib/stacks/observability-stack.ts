import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AppFunction } from '#lib/constructs/app-function';
import type { Delivery } from '#lib/constructs/delivery';
import { PlatformObservability } from '#lib/constructs/observability';
import type { SearchIndex } from '#lib/constructs/search-index';
import type { TranscodeWorkflow } from '#lib/constructs/transcode-workflow';
import type { UploadTriggers } from '#lib/constructs/upload-triggers';
import type { VideoApi } from '#lib/constructs/video-api';
import type { StageConfig } from '#lib/stages';

/** Props of {@link ObservabilityStack}. */
export interface ObservabilityStackProps extends StackProps {
  readonly stage: StageConfig;
  readonly api: VideoApi;
  /** The CDN (its playback key sync function). */
  readonly delivery: Delivery;
  readonly workflow: TranscodeWorkflow;
  readonly triggers: UploadTriggers;
  readonly search: SearchIndex;
  /**
   * An address the alarm topic emails.
   * @default - none
   */
  readonly alarmEmail?: string;
}

/**
 * The dashboard, the paging alarms and their SNS topic (stateless). Deployed last: it reads the
 * other stacks' resources, and nothing reads it, so the deployment rollback alarms live beside
 * their functions instead (a deployment group must be in its alias's stack).
 */
export class ObservabilityStack extends Stack {
  public readonly observability: PlatformObservability;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    const { stage, api, delivery, workflow, triggers, search, alarmEmail, ...stackProps } = props;
    super(scope, id, { description: 'vodstack: dashboard, alarms and the alarm topic', ...stackProps });

    const functions: Record<string, AppFunction> = {
      ...api.functions,
      ...Object.fromEntries(Object.entries(workflow.functions).map(([state, fn]) => [`${state} (task)`, fn])),
      Starter: triggers.starter,
      Sweeper: triggers.sweeper,
      Indexer: search.indexer,
      'Playback key sync': delivery.playbackKeys.syncFunction,
    };
    this.observability = new PlatformObservability(this, 'Observability', {
      apiStage: api.api.deploymentStage,
      workflow: workflow.stateMachine,
      queues: [
        { label: 'upload events', queue: triggers.queue, deadLetter: false },
        { label: 'upload events (DLQ)', queue: triggers.deadLetters, deadLetter: true },
        { label: 'search index failures (DLQ)', queue: search.failures, deadLetter: true },
      ],
      functions,
      otherAlarms: Object.values(functions).flatMap((fn) => (fn.gradualDeployment ? [fn.gradualDeployment.errorAlarm] : [])),
      thresholds: stage.alarms,
      alarmEmail,
      dashboardName: `vodstack-${stage.name}`,
    });

    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.topic.topicArn, description: 'Subscribe to it to get every alarm (email, chat, pager)' });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards/dashboard/vodstack-${stage.name}`,
    });
  }
}
