import { UnavailableError } from '#domain/errors';

const TRANSIENT = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'TooManyRequestsException',
  'SlowDown',
]);

/** True for SDK errors a caller should retry later (throttling, network, 5xx). */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (error as { code?: string }).code;
  return (
    TRANSIENT.has(error.name) ||
    (status !== undefined && status >= 500) ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ETIMEDOUT' ||
    error.name === 'AbortError'
  );
}

/** Maps a dependency's transient failure to `UnavailableError` (503 + Retry-After). */
export function unavailable(what: string) {
  return (error: unknown): never => {
    if (isTransient(error)) throw new UnavailableError(`${what} is temporarily unavailable; retry shortly`, { cause: error });
    throw error;
  };
}
