/**
 * Structured JSON logs, one line per entry (CloudWatch and the local terminal read the same).
 * Errors are flattened so their name, message and stack survive JSON.
 */
function write(level: 'INFO' | 'WARN' | 'ERROR', message: string, fields: Record<string, unknown> = {}) {
  const entry: Record<string, unknown> = { level, message, timestamp: new Date().toISOString() };
  for (const [key, value] of Object.entries(fields)) {
    entry[key] = value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
  }
  (level === 'ERROR' ? console.error : console.log)(JSON.stringify(entry));
}

export const log = {
  info: (message: string, fields?: Record<string, unknown>) => write('INFO', message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write('WARN', message, fields),
  error: (message: string, fields?: Record<string, unknown>) => write('ERROR', message, fields),
};
