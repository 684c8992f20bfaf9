import { StartUploadRequest } from '#contracts/api';
import { deps } from '#composition/uploads';
import { httpHandler } from '../shared/http.ts';

/** `POST /api/v1/videos/upload`: creates the video and hands out presigned part URLs. */
export const handler = httpHandler({ body: StartUploadRequest }, async ({ body, caller }) => {
  const session = await deps().uploads.start(caller.userId, body);
  return { statusCode: 201, body: session, headers: { location: `/api/v1/videos/${session.id}` } };
});
