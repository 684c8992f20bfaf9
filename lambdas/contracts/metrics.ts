/**
 * The custom CloudWatch metrics the functions emit (Powertools Metrics, EMF) and the dashboard and
 * alarms read (`lib/constructs/observability.ts`): one list, so a name cannot drift between the
 * code that publishes a metric and the alarm that watches it.
 */
export const METRICS_NAMESPACE = 'vodstack';

/**
 * The dimension names used with the metrics below. Each metric carries exactly the dimensions its
 * comment names (no `service` dimension): a CloudWatch query must name the same set to match.
 */
export const MetricDimensions = {
  /** The route id from `#contracts/routes` (e.g. `SearchVideos`). */
  route: 'route',
  /** An error's name (e.g. `InvalidMediaError`), for failed jobs. */
  code: 'code',
  /** What the sweeper did with a stuck video: `started`, `restarted` or `failed`. */
  action: 'action',
} as const;

export const Metrics = {
  // RED per API route (dimension `route`).
  /** Requests answered (count). */
  requests: 'Requests',
  /** Requests answered with a 4xx (count). */
  clientErrors: 'ClientErrors',
  /** Requests answered with a 5xx (count). */
  serverErrors: 'ServerErrors',
  /** Time from the handler's start to its answer (milliseconds). */
  latency: 'Latency',

  // Pipeline (no dimension unless noted).
  /** Workflow executions started (by the API, the upload event or the sweeper; count). */
  jobsStarted: 'JobsStarted',
  /** Videos published `ready` (count). */
  jobsSucceeded: 'JobsSucceeded',
  /** Videos marked `failed` (count; dimension `code`). */
  jobsFailed: 'JobsFailed',
  /** Wall-clock processing seconds per minute of video, measured at publish (seconds). */
  processingSecondsPerVideoMinute: 'ProcessingSecondsPerVideoMinute',
  /** Stuck videos the sweeper found (count; dimension `action`). */
  sweeperFound: 'SweeperFound',
} as const;
export type MetricName = (typeof Metrics)[keyof typeof Metrics];

/**
 * The Powertools settings every function gets in its environment (`lib/constructs/app-function.ts`;
 * local mode reads them from the synthesized template). One service name for all functions: each
 * log line also names its function.
 */
export const PowertoolsEnvironment = {
  POWERTOOLS_SERVICE_NAME: 'vodstack',
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
  POWERTOOLS_LOG_LEVEL: 'INFO',
} as const;
