import { z } from 'zod';
import { VideoId } from '#contracts/api';
import { readDeps } from '#composition/uploads';
import { httpHandler } from '../shared/http.ts';

/** `GET /api/v1/videos/{id}`: metadata, for the owner, or anyone once ready unless private. */
export const handler = httpHandler({ params: z.object({ id: VideoId }) }, async ({ params, caller }) => ({
  statusCode: 200,
  body: await readDeps().videos.get(caller.userId, params.id),
}));
