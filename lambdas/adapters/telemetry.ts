import { InvocationScoped } from '@aws-lambda-powertools/commons/utils/invocation-scoped';
import { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { METRICS_NAMESPACE } from '#contracts/metrics';

/**
 * The process's Powertools tracer and metrics, and the current invocation's correlation id.
 * They live here, below the handlers, because adapters use them too: SDK clients are captured by
 * the tracer, and the workflow starter counts the executions it starts and hands the correlation
 * id on to them. The handlers' wrappers (`handlers/shared/observability.ts`) set them up per call.
 *
 * Tracing is on only inside Lambda (Powertools checks the runtime's environment), so tests and
 * local mode pay nothing for it.
 */
export const tracer = new Tracer();

/**
 * EMF metrics in the namespace of `#contracts/metrics`. Powertools adds a `service` dimension by
 * default; it is cleared so each metric has exactly the dimensions `#contracts/metrics` names,
 * which is what the dashboard and alarms query.
 */
export const metrics = new PowertoolsMetrics({ namespace: METRICS_NAMESPACE });
metrics.clearDefaultDimensions();

/**
 * The id that ties together every log line of one request or job, from the API through the
 * workflow. Scoped per invocation: on Lambda one invocation runs at a time; local mode runs many
 * concurrently in one process and scopes them with the runtime's InvokeStore, as Lambda's
 * multi-concurrency runtime does.
 */
const correlation = new InvocationScoped<string | undefined>('vodstack.correlationId', { initial: undefined });

export const correlationId = {
  /** The current invocation's correlation id, if its wrapper set one. */
  get: (): string | undefined => correlation.get(),
  set: (id: string | undefined): void => correlation.set(id),
};
