import { ChunkTask } from '#contracts/workflow';
import { pipelineDeps, withMediaTasks } from '#composition/pipeline';
import { workflowTask } from '../shared/task.ts';

/** One Map iteration: every rung of one time chunk in one ffmpeg process; then progress. */
export const handler = workflowTask(async (event: unknown, context): Promise<{ index: number; segments: number }> => {
  const task = ChunkTask.parse(event);
  const done = await withMediaTasks(task.videoId, task.grant, context.getRemainingTimeInMillis(), (tasks) => tasks.transcodeChunk(task));
  await pipelineDeps().pipeline.chunkDone(task.videoId, task.generation, task.chunk.index, task.plan.chunks.length);
  return done;
});
