import { z } from 'zod';
import { VideoId } from '#contracts/api';
import { deps } from '#composition/uploads';
import { httpHandler } from '../shared/http.ts';

/** `GET /api/v1/videos/{id}/upload`: the parts stored so far and fresh URLs for the rest. */
export const handler = httpHandler({ params: z.object({ id: VideoId }) }, async ({ params, caller }) => ({
  statusCode: 200,
  body: await deps().uploads.resume(caller.userId, params.id),
}));
