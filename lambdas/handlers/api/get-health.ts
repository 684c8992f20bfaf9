import { healthProbes } from '#composition/health';
import { checkHealth } from '#domain/health';
import { publicHttpHandler } from '../shared/http.ts';

/** Seconds a client or load balancer should wait before asking a degraded platform again. */
const RETRY_AFTER_SECONDS = 5;

/**
 * `GET /api/v1/health`: each dependency the API uses, `{name, ok, latencyMs, error?}`, and an
 * overall `status`: 200 when all answer, 503 with Retry-After when any does not.
 */
export const handler = publicHttpHandler({}, async () => {
  const report = await checkHealth(healthProbes());
  return report.status === 'ok'
    ? { statusCode: 200, body: report }
    : { statusCode: 503, body: report, headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) } };
});
