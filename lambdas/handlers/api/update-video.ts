import { z } from 'zod';
import { UpdateVideoRequest, VideoId } from '#contracts/api';
import { videoDeps } from '#composition/videos';
import { httpHandler } from '../shared/http.ts';

/** `PATCH /api/v1/videos/{id}`: the owner edits title, description, tags or visibility. */
export const handler = httpHandler(
  { params: z.object({ id: VideoId }), body: UpdateVideoRequest },
  async ({ params, body, caller }) => ({
    statusCode: 200,
    body: await videoDeps().library.update(caller.userId, params.id, body),
  }),
);
