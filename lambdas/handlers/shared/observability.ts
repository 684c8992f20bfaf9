import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { MetricDimensions, Metrics, type MetricName } from '#contracts/metrics';
import { CorrelationId } from '#contracts/workflow';
import { correlationId, metrics, tracer } from '#adapters/telemetry';

/**
 * Observability for every handler (Powertools for AWS Lambda): one logger, one metrics instance
 * and one tracer per process, and the middy middlewares the wrappers (`http.ts`, `task.ts`,
 * `observed`) put around each handler. Log lines are JSON on stdout, metrics are EMF lines on
 * stdout (CloudWatch turns them into metrics), traces go to X-Ray.
 *
 * Service name, namespace and log level come from the function's environment
 * (`PowertoolsEnvironment` in `#contracts/metrics`).
 */
export const logger = new Logger();
export { correlationId, metrics, tracer };

/** The key every log line of a request or job carries its correlation id under. */
export const CORRELATION_KEY = 'correlationId';

/** A client's correlation id if it is a sane token, else `undefined` (never echoed otherwise). */
export function saneCorrelationId(value: unknown): string | undefined {
  const parsed = CorrelationId.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** A correlation id of our own, for work nobody upstream named (a schedule, a stream batch). */
export const newCorrelationId = (): string => randomUUID();

/**
 * Sets the invocation's correlation id: on the logger (every line from now on carries it) and
 * where the workflow starter reads it (so an execution started now carries it on).
 */
export function useCorrelationId(id: string): void {
  correlationId.set(id);
  logger.appendKeys({ [CORRELATION_KEY]: id });
}

/** Adds one data point of a pipeline metric; with `dimension`, it is published on its own. */
export function countMetric(name: MetricName, value = 1, dimension?: { readonly name: keyof typeof MetricDimensions; readonly value: string }): void {
  const unit = name === Metrics.processingSecondsPerVideoMinute ? MetricUnit.Seconds : MetricUnit.Count;
  if (!dimension) {
    metrics.addMetric(name, unit, value);
    return;
  }
  // One EMF line per dimension value: dimensions apply to every metric of a line.
  const single = metrics.singleMetric();
  single.addDimension(MetricDimensions[dimension.name], dimension.value);
  single.addMetric(name, unit, value);
}

/**
 * The middlewares every wrapper opens with: the Lambda context on the logger (function name,
 * request id, cold start) with keys reset after each call, the X-Ray segment, and the metrics the
 * call stored published once it ends (nothing is printed when it stored none).
 */
export function observability(): middy.MiddlewareObj[] {
  return [
    injectLambdaContext(logger, { resetKeys: true }),
    { after: publishMetrics, onError: publishMetrics },
    captureLambdaHandler(tracer, { captureResponse: false }),
  ];
}

function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  correlationId.set(undefined);
}

/** A handler as Lambda calls it; the context is optional so tests can call it with an event only. */
export type ObservedHandler<E, R> = (event: E, context?: Context) => Promise<R>;

/**
 * Wraps an event handler (stream, queue, schedule, custom resource) in the observability
 * middlewares. Its correlation id is `correlation(event)` when that names one, else the Lambda
 * request id; a handler that handles several jobs per call can set one per job with
 * {@link useCorrelationId}.
 */
export function observed<E, R>(fn: (event: E, context: Context) => Promise<R>, options: { readonly correlation?: (event: E) => string | undefined } = {}): ObservedHandler<E, R> {
  const wrapped = middy<E, R, Error, Context>()
    .use(observability())
    .use({
      before: (request) => {
        useCorrelationId(saneCorrelationId(options.correlation?.(request.event)) ?? request.context?.awsRequestId ?? newCorrelationId());
      },
    })
    .handler(fn);
  return (event, context) => wrapped(event, context ?? ({} as Context));
}
