import { z } from 'zod';
import { VideoId } from '#contracts/api';
import { videoDeps } from '#composition/videos';
import { httpHandler } from '../shared/http.ts';

/**
 * `DELETE /api/v1/videos/{id}`: the owner deletes the video with its source and media; `204`.
 * Deleting it again answers `404`, as for any video that does not exist.
 */
export const handler = httpHandler({ params: z.object({ id: VideoId }) }, async ({ params, caller }) => {
  await videoDeps().library.remove(caller.userId, params.id);
  return { statusCode: 204 };
});
