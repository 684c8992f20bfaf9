/**
 * Health: whether each dependency the API uses answers a cheap call, and how fast. Errors are
 * reported by name only (`ResourceNotFoundException`, `TimeoutError`): the route is public, and a
 * message could name internal resources.
 */

/** One dependency, checked by a cheap call; `check` throws when it is not usable. */
export interface DependencyProbe {
  readonly name: string;
  check(): Promise<void>;
}

export interface DependencyHealth {
  readonly name: string;
  readonly ok: boolean;
  readonly latencyMs: number;
  /** The error's name when not ok. */
  readonly error?: string;
}

export interface HealthReport {
  /** `ok` when every dependency is; `degraded` otherwise. */
  readonly status: 'ok' | 'degraded';
  readonly dependencies: readonly DependencyHealth[];
}

/** A dependency that has not answered in this long is reported down (the check goes on unawaited). */
export const HEALTH_TIMEOUT_MS = 3000;

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Checks every dependency at once; a slow or failing one never hides the others. */
export async function checkHealth(
  probes: readonly DependencyProbe[],
  options: { readonly now?: () => number; readonly timeoutMs?: number } = {},
): Promise<HealthReport> {
  const now = options.now ?? (() => performance.now());
  const timeoutMs = options.timeoutMs ?? HEALTH_TIMEOUT_MS;
  const dependencies = await Promise.all(
    probes.map(async ({ name, check }): Promise<DependencyHealth> => {
      const started = now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new TimeoutError(`no answer in ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return { name, ok: true, latencyMs: Math.round(now() - started) };
      } catch (error) {
        return { name, ok: false, latencyMs: Math.round(now() - started), error: error instanceof Error ? error.name : 'Error' };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { status: dependencies.every((d) => d.ok) ? 'ok' : 'degraded', dependencies };
}
