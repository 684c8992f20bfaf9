import { z } from 'zod';
import { StartPosterUploadRequest, VideoId } from '#contracts/api';
import { videoDeps } from '#composition/videos';
import { httpHandler } from '../shared/http.ts';

/** `POST /api/v1/videos/{id}/poster`: the owner of a ready video gets a URL to upload a poster image to. */
export const handler = httpHandler(
  { params: z.object({ id: VideoId }), body: StartPosterUploadRequest },
  async ({ params, body, caller }) => ({
    statusCode: 200,
    body: await videoDeps().library.startPosterUpload(caller.userId, params.id, body),
  }),
);
