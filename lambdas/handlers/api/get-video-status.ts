import { z } from 'zod';
import { VideoId } from '#contracts/api';
import { readDeps } from '#composition/uploads';
import { httpHandler } from '../shared/http.ts';

/** `GET /api/v1/videos/{id}/status`: `{status, progress}` for the owner. */
export const handler = httpHandler({ params: z.object({ id: VideoId }) }, async ({ params, caller }) => ({
  statusCode: 200,
  body: await readDeps().videos.status(caller.userId, params.id),
}));
