import { z } from 'zod';
import { VideoId } from '#contracts/api';
import { idTokenVerifier } from '#composition/playback';
import { readDeps } from '#composition/uploads';
import { optionalAuthHttpHandler } from '../shared/http.ts';

/** `GET /api/v1/videos/{id}`: metadata, for the owner, or anyone once ready unless private. */
export const handler = optionalAuthHttpHandler(
  { params: z.object({ id: VideoId }), verifier: idTokenVerifier },
  async ({ params, caller }) => ({
    statusCode: 200,
    body: await readDeps().videos.get(caller?.userId, params.id),
  }),
);
