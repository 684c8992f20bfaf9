import { z } from 'zod';
import { VideoId } from '#contracts/api';
import { deps } from '#composition/uploads';
import { httpHandler } from '../shared/http.ts';

/** `DELETE /api/v1/videos/{id}/upload`: drops the stored parts and marks the video aborted. */
export const handler = httpHandler({ params: z.object({ id: VideoId }) }, async ({ params, caller }) => ({
  statusCode: 200,
  body: await deps().uploads.abort(caller.userId, params.id),
}));
