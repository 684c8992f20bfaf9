/**
 * The small, named set of errors the domain raises. Each has an explicit `name` (so a Step
 * Functions `Catch` can match it) and an HTTP status; only errors below 500 show their message
 * to clients, so a message must say what the caller can do about it.
 */
export abstract class AppError extends Error {
  abstract readonly statusCode: number;
  /** Extra response headers, e.g. `Retry-After`. */
  readonly headers: Record<string, string> = {};
  /** Itemised problems (one per bad field) for validation errors. */
  readonly details: string[] | undefined;

  constructor(message: string, options?: { cause?: unknown; details?: string[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.details = options?.details;
  }
}

export class ValidationError extends AppError {
  override readonly name = 'ValidationError';
  readonly statusCode = 400;
}

export class UnauthorizedError extends AppError {
  override readonly name = 'UnauthorizedError';
  readonly statusCode = 401;
}

export class NotFoundError extends AppError {
  override readonly name = 'NotFoundError';
  readonly statusCode = 404;
}

export class ConflictError extends AppError {
  override readonly name = 'ConflictError';
  readonly statusCode = 409;
}

export class PayloadTooLargeError extends AppError {
  override readonly name = 'PayloadTooLargeError';
  readonly statusCode = 413;
}

export class RateLimitedError extends AppError {
  override readonly name = 'RateLimitedError';
  readonly statusCode = 429;
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message);
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

/** A dependency (table, bucket) is unavailable or throttling; the caller should retry. */
export class UnavailableError extends AppError {
  override readonly name = 'UnavailableError';
  readonly statusCode = 503;
  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options);
    this.headers['Retry-After'] = String(options?.retryAfterSeconds ?? 5);
  }
}

/** The multipart upload no longer exists in storage (completed, aborted or expired). */
export class UploadGoneError extends AppError {
  override readonly name = 'UploadGoneError';
  readonly statusCode = 410;
}
