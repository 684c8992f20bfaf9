/**
 * Local mode's terminal view of what the functions print: each Powertools JSON log line and each
 * EMF metrics line becomes one compact line, e.g.
 *
 *   12:00:01 INFO  SearchVideos  request answered  correlationId=3f2… status=200
 *   12:00:01 METRIC SearchVideos  Requests=1 Latency=12.3ms  route=SearchVideos
 *
 * Anything else (the platform's own lines) passes through unchanged. On AWS the same lines are
 * JSON in CloudWatch; only the view differs.
 */

/** Keys every Powertools line has, which the compact view drops or shows in its own place. */
const HIDDEN = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'sampling_rate',
  'xray_trace_id',
  'route',
]);

const UNITS: Record<string, string> = { Milliseconds: 'ms', Seconds: 's', Count: '' };

/**
 * A route's RED metrics (one EMF line per request): the gateway's request line just above says
 * the same (method, path, status, time), so the terminal view leaves them out.
 */
export function isRouteMetricsLine(line: string): boolean {
  return line.startsWith('{') && line.includes('"_aws"') && /"route":"[A-Za-z]+"/.test(line) && line.includes('"Requests":');
}

/** One line as a person reads it in the terminal. */
export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry['_aws'] === 'object' && entry['_aws'] !== null) return formatMetrics(entry);
  if (typeof entry['level'] !== 'string' || typeof entry['message'] !== 'string') return line;
  const source = String(entry['route'] ?? entry['function_name'] ?? entry['service'] ?? '-');
  const fields = Object.entries(entry)
    .filter(([key, value]) => !HIDDEN.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${show(value)}`);
  return [clock(entry['timestamp']), entry['level'].padEnd(5), short(source), ` ${entry['message']}`, ...(fields.length ? [` ${fields.join(' ')}`] : [])].join(' ');
}

function formatMetrics(entry: Record<string, unknown>): string {
  const aws = entry['_aws'] as { Timestamp?: number; CloudWatchMetrics?: { Dimensions?: string[][]; Metrics?: { Name: string; Unit?: string }[] }[] };
  const directive = aws.CloudWatchMetrics?.[0];
  const dimensions = (directive?.Dimensions ?? []).flat().map((name) => `${name}=${show(entry[name])}`);
  const values = (directive?.Metrics ?? []).map(({ Name, Unit }) => `${Name}=${number(entry[Name])}${UNITS[Unit ?? ''] ?? ` ${Unit}`}`);
  const source = String(entry['route'] ?? entry['function_name'] ?? '-');
  return [clock(aws.Timestamp), 'METRIC', short(source), ` ${values.join(' ')}`, ...(dimensions.length ? [` ${dimensions.join(' ')}`] : [])].join(' ');
}

/** `HH:MM:SS` in local time; the date is noise in a terminal. */
function clock(timestamp: unknown): string {
  const date = typeof timestamp === 'string' || typeof timestamp === 'number' ? new Date(timestamp) : new Date();
  return Number.isNaN(date.getTime()) ? '--:--:--' : date.toTimeString().slice(0, 8);
}

/** A function's logical id (`PipelineClaimFunction1A2B3C4D`) without the hash CDK appends. */
function short(source: string): string {
  return source.replace(/[0-9A-F]{8}$/, '').padEnd(14);
}

function number(value: unknown): string {
  return typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(1) : show(value);
}

function show(value: unknown): string {
  const isError = value instanceof Object && 'message' in value && 'name' in value;
  const text = isError ? `${String(value.name)}: ${String(value.message)}` : typeof value === 'string' ? value : JSON.stringify(value);
  return /\s/.test(text) ? JSON.stringify(text) : text;
}
