import { logger } from './observability.ts';

/**
 * Structured JSON logs, one line per entry (CloudWatch and the local terminal read the same),
 * through the Powertools logger, so each line carries the function, request and correlation id.
 * Errors among the fields keep their name, message and stack.
 */
export const log = {
  info: (message: string, fields: Record<string, unknown> = {}) => logger.info(message, fields),
  warn: (message: string, fields: Record<string, unknown> = {}) => logger.warn(message, fields),
  error: (message: string, fields: Record<string, unknown> = {}) => logger.error(message, fields),
};
