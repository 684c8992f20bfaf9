import { z } from 'zod';
import { CompleteUploadRequest, VideoId } from '#contracts/api';
import { deps } from '#composition/uploads';
import { httpHandler } from '../shared/http.ts';
import { correlationId } from '../shared/observability.ts';

/** `POST /api/v1/videos/{id}/upload/complete`: assembles the parts; idempotent. */
export const handler = httpHandler(
  { params: z.object({ id: VideoId }), body: CompleteUploadRequest },
  async ({ params, body, caller }) => ({
    statusCode: 200,
    body: await deps().uploads.complete(caller.userId, params.id, body.parts, correlationId.get()),
  }),
);
