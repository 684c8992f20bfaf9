import { InvalidMediaError } from '#domain/media';

/**
 * Wraps a workflow task so its errors survive the trip through Step Functions: a Lambda error
 * reaches the state machine as `{errorType: name, errorMessage: message}` only, so a media
 * error's code travels as a `Code: message` prefix (read back by `failureFrom`), while its name
 * stays `InvalidMediaError` for the workflow's no-retry rule and `Catch`.
 */
export function workflowTask<I, O>(fn: (event: I) => Promise<O>): (event: I) => Promise<O> {
  return async (event) => {
    try {
      return await fn(event);
    } catch (error) {
      if (error instanceof InvalidMediaError && !error.message.startsWith(`${error.code}: `)) {
        throw new InvalidMediaError(error.code, `${error.code}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  };
}
