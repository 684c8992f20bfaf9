import { describe, expect, it } from 'vitest';
import { formatLogLine, isRouteMetricsLine } from '../../local/log-format.ts';

const at = new Date(2026, 0, 2, 12, 0, 1).toISOString();

describe('the local log formatter', () => {
  it('shows a Powertools log line as time, level, route, message and its own fields', () => {
    const line = JSON.stringify({
      level: 'INFO',
      message: 'search answered',
      timestamp: at,
      service: 'vodstack',
      cold_start: false,
      function_arn: 'arn:aws:lambda:us-east-1:000000000000:function:ApiSearchVideos1A2B3C4D',
      function_name: 'ApiSearchVideos1A2B3C4D',
      function_request_id: 'r-1',
      sampling_rate: 0,
      correlationId: 'abc-123',
      route: 'SearchVideos',
      hits: 3,
      query: 'harbour at dusk',
    });

    expect(formatLogLine(line)).toBe('12:00:01 INFO  SearchVideos    search answered  correlationId=abc-123 hits=3 query="harbour at dusk"');
  });

  it('names the function (without CDK hash) when the line has no route, and flattens an error', () => {
    const line = JSON.stringify({
      level: 'ERROR',
      message: 'could not start the workflow',
      timestamp: at,
      function_name: 'PipelineStarter9F8E7D6C',
      error: { name: 'UnavailableError', message: 'the workflow service is unavailable', stack: 'at x' },
    });

    expect(formatLogLine(line)).toBe('12:00:01 ERROR PipelineStarter  could not start the workflow  error="UnavailableError: the workflow service is unavailable"');
  });

  it('shows an EMF line as its metric values and dimensions on one line', () => {
    const line = JSON.stringify({
      _aws: {
        Timestamp: Date.parse(at),
        CloudWatchMetrics: [
          {
            Namespace: 'vodstack',
            Dimensions: [['route']],
            Metrics: [
              { Name: 'Requests', Unit: 'Count' },
              { Name: 'Latency', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      route: 'GetVideo',
      Requests: 1,
      Latency: 12.345,
    });

    expect(formatLogLine(line)).toBe('12:00:01 METRIC GetVideo        Requests=1 Latency=12.3ms  route=GetVideo');
    // npm start leaves a route's per-request metrics out (its request line says the same)…
    expect(isRouteMetricsLine(line)).toBe(true);
    // …but shows pipeline metrics and every log line.
    expect(isRouteMetricsLine(JSON.stringify({ _aws: { Timestamp: 0, CloudWatchMetrics: [] }, JobsSucceeded: 1 }))).toBe(false);
    expect(isRouteMetricsLine(JSON.stringify({ level: 'INFO', message: 'request answered', route: 'GetVideo', Requests: 1 }))).toBe(false);
  });

  it('passes the platform’s own lines and other JSON through unchanged', () => {
    for (const line of ['GET /api/v1/health 200 3.1ms', 'workflow vid-g1: started', '{"not":"a log line"}', '{broken json']) {
      expect(formatLogLine(line)).toBe(line);
    }
  });
});
