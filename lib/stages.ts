import { RemovalPolicy } from 'aws-cdk-lib';
import { LambdaDeploymentConfig, type ILambdaDeploymentConfig } from 'aws-cdk-lib/aws-codedeploy';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { WebAclDefaults, type WebAclRateLimits } from '#lib/constructs/web-acl';

/** The stages the app knows (context `stage`). */
export const STAGE_NAMES = ['dev', 'prod'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/**
 * What pages the operator (SNS) and what rolls a deployment back. Each threshold is compared with
 * `>=`, so `1` means "any".
 */
export interface AlarmThresholds {
  /** API Gateway 5xx answers as a percentage of all answers of the stage, over 5 minutes (pages). */
  readonly apiServerErrorRatePercent: number;
  /** p99 of API Gateway latency over 5 minutes, milliseconds, three periods in a row (pages). */
  readonly apiLatencyP99Ms: number;
  /**
   * Workflow executions failed (or, separately, timed out) in 5 minutes (pages). A rejected upload
   * (not a video, too long…) also ends its execution `FAILED`; raise this if that is common.
   */
  readonly workflowFailures: number;
  /**
   * Unhandled errors of one API function's `live` alias in a minute that roll its deployment
   * back. The HTTP wrapper turns every expected error into a 4xx, so any unhandled one is a bug.
   */
  readonly apiFunctionErrors: number;
  /**
   * Errors of one pipeline function's `live` alias in a minute that roll its deployment back.
   * Workflow tasks throw named errors on purpose (a rejected file fails the probe), so one error
   * is not yet a bad release.
   */
  readonly pipelineFunctionErrors: number;
  /**
   * API 5xx percentage over one minute that rolls any API function's deployment back (a
   * canary's share of traffic is small: the rate must react within the bake time).
   */
  readonly deployApiServerErrorRatePercent: number;
}

/** Everything that differs between `dev` and `prod`, in one place. */
export interface StageConfig {
  readonly name: StageName;
  /**
   * Removal policy of stateful resources (table, buckets, their keys, secrets, user pool).
   * `RETAIN` in every stage: deleting a stack never deletes data; teardown is deliberate (docs/deploy.md).
   */
  readonly statefulRemovalPolicy: RemovalPolicy;
  /** DynamoDB and Cognito deletion protection: the table and the user pool refuse deletion until it is turned off. */
  readonly deletionProtection: boolean;
  /** DynamoDB point-in-time recovery (35 days of continuous backups). */
  readonly pointInTimeRecovery: boolean;
  /** CloudFormation termination protection on the stateful stacks (data, auth). */
  readonly terminationProtection: boolean;
  /** Retention of function, API access and workflow logs. */
  readonly logRetention: RetentionDays;
  /** How CodeDeploy shifts traffic from a function's old version to its new one. */
  readonly deployment: ILambdaDeploymentConfig;
  readonly alarms: AlarmThresholds;
  /** Per-IP request limits of the web ACLs. */
  readonly waf: Required<WebAclRateLimits>;
}

/**
 * The two stages. `dev` deploys at once and keeps logs a month; `prod` shifts 10% of traffic to a
 * new version for 5 minutes (rolled back by the alarms), protects the table, the user pool and the
 * stateful stacks from deletion, keeps logs six months, and pages on tighter thresholds.
 */
export const Stages: Readonly<Record<StageName, StageConfig>> = {
  dev: {
    name: 'dev',
    statefulRemovalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: false,
    pointInTimeRecovery: true,
    terminationProtection: false,
    logRetention: RetentionDays.ONE_MONTH,
    deployment: LambdaDeploymentConfig.ALL_AT_ONCE,
    alarms: {
      apiServerErrorRatePercent: 5,
      apiLatencyP99Ms: 5000,
      workflowFailures: 1,
      apiFunctionErrors: 1,
      pipelineFunctionErrors: 5,
      deployApiServerErrorRatePercent: 10,
    },
    waf: { ...WebAclDefaults },
  },
  prod: {
    name: 'prod',
    statefulRemovalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
    pointInTimeRecovery: true,
    terminationProtection: true,
    logRetention: RetentionDays.SIX_MONTHS,
    deployment: LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
    alarms: {
      apiServerErrorRatePercent: 1,
      apiLatencyP99Ms: 2500,
      workflowFailures: 1,
      apiFunctionErrors: 1,
      pipelineFunctionErrors: 3,
      deployApiServerErrorRatePercent: 5,
    },
    waf: { ...WebAclDefaults },
  },
};

/** Context `stage` → its config; absent means `dev`, anything else unknown fails synth. */
export function stageConfig(value: unknown): StageConfig {
  if (value === undefined || value === null || value === '') return Stages.dev;
  const name = String(value).trim().toLowerCase();
  if (!(STAGE_NAMES as readonly string[]).includes(name)) {
    throw new Error(`context stage: expected ${STAGE_NAMES.join(' or ')}, got "${String(value)}"`);
  }
  return Stages[name as StageName];
}
