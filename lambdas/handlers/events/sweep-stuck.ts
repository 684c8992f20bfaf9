import { Metrics } from '#contracts/metrics';
import { pipelineDeps } from '#composition/pipeline';
import { log } from '../shared/log.ts';
import { countMetric, observed } from '../shared/observability.ts';

/**
 * Every few minutes: restart or fail videos stuck in `uploaded`/`processing` (none is lost). The
 * executions it starts carry this run's id as their correlation id; what it found is counted by
 * action (zeros too, so an alarm on them always has data).
 */
export const handler = observed(async (): Promise<{ checked: number; started: number; restarted: number; failed: number }> => {
  const counts = await pipelineDeps().pipeline.sweep();
  for (const action of ['started', 'restarted', 'failed'] as const) {
    countMetric(Metrics.sweeperFound, counts[action], { name: 'action', value: action });
  }
  log.info('sweep done', counts);
  return counts;
});
