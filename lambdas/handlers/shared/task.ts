import type { Context } from 'aws-lambda';
import { InvalidMediaError } from '#domain/media';
import { observed, type ObservedHandler } from './observability.ts';

/**
 * Wraps a workflow task: the observability middlewares, with the correlation id the execution
 * carries in its payload (`WorkflowInput.correlationId`) on every log line; and its errors made
 * to survive the trip through Step Functions: a Lambda error reaches the state machine as
 * `{errorType: name, errorMessage: message}` only, so a media error's code travels as a
 * `Code: message` prefix (read back by `failureFrom`), while its name stays `InvalidMediaError`
 * for the workflow's no-retry rule and `Catch`.
 */
export function workflowTask<I, O>(fn: (event: I, context: Context) => Promise<O>): ObservedHandler<I, O> {
  return observed(
    async (event: I, context: Context) => {
      try {
        return await fn(event, context);
      } catch (error) {
        if (error instanceof InvalidMediaError && !error.message.startsWith(`${error.code}: `)) {
          throw new InvalidMediaError(error.code, `${error.code}: ${error.message}`, { cause: error });
        }
        throw error;
      }
    },
    { correlation: (event) => correlationOf(event) },
  );
}

function correlationOf(event: unknown): string | undefined {
  const id = typeof event === 'object' && event !== null ? (event as { correlationId?: unknown }).correlationId : undefined;
  return typeof id === 'string' ? id : undefined;
}

