import { ChunkTask } from '#contracts/workflow';
import { withMediaTasks } from '#composition/pipeline';
import { workflowTask } from '../shared/task.ts';

/** One Map iteration: every rung of one time chunk in one ffmpeg process; then progress. */
export const handler = workflowTask(async (event: unknown, context): Promise<{ index: number; segments: number }> => {
  const task = ChunkTask.parse(event);
  return withMediaTasks(task.videoId, task.grant, context.getRemainingTimeInMillis(), async (tasks, pipeline) => {
    const done = await tasks.transcodeChunk(task);
    await pipeline.chunkDone(task.videoId, task.generation, task.chunk.index, task.plan.chunks.length);
    return done;
  });
});
