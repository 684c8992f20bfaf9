import { pipelineDeps } from '#composition/pipeline';
import { log } from '../shared/log.ts';

/** Every few minutes: restart or fail videos stuck in `uploaded`/`processing` (none is lost). */
export const handler = async (): Promise<{ checked: number; started: number; restarted: number; failed: number }> => {
  const counts = await pipelineDeps().pipeline.sweep();
  log.info('sweep done', counts);
  return counts;
};
