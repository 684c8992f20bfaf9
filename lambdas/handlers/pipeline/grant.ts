import { WorkflowInput, type WorkerGrant } from '#contracts/workflow';
import { pipelineDeps } from '#composition/pipeline';
import { workflowTask } from '../shared/task.ts';

/**
 * Grant: before each task that runs ffmpeg, credentials that reach only this video's source and
 * output prefix, sealed for the workflow's state (see `StsWorkerGrants`). This function runs no
 * ffmpeg and reads no user file: it is the only one that may assume the media worker role.
 */
export const handler = workflowTask(async (event: unknown): Promise<WorkerGrant> => {
  const { videoId } = WorkflowInput.parse(event);
  return pipelineDeps().grants.mint(videoId);
});
