/**
 * The route and pipeline handlers log one JSON line per entry on stdout (as on Lambda). In the
 * benchmark they would interleave with the figures: INFO and WARN lines (e.g. a transcode of the
 * random bytes failing, as it should) are counted and dropped; ERROR lines (stderr) still print.
 * `BENCH_VERBOSE=1` shows them all.
 */

// The SDK's notice about Node 20 (local/node20.ts silences its older name): not about the figures.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const dropped = { INFO: 0, WARN: 0 };

export function quietHandlerLogs(): { readonly summary: () => string | undefined } {
  const summary = () => {
    const parts = Object.entries(dropped)
      .filter(([, n]) => n > 0)
      .map(([level, n]) => `${n} ${level}`);
    return parts.length ? `${parts.join(' and ')} log lines of the platform's handlers not shown (BENCH_VERBOSE=1 shows them)` : undefined;
  };
  if (process.env['BENCH_VERBOSE']) return { summary };
  const original = console.log.bind(console);
  console.log = (...args: unknown[]) => {
    const level = args.length === 1 && typeof args[0] === 'string' ? /^\{"level":"(INFO|WARN)"/.exec(args[0])?.[1] : undefined;
    if (level === 'INFO' || level === 'WARN') {
      dropped[level]++;
      return;
    }
    original(...args);
  };
  return { summary };
}
