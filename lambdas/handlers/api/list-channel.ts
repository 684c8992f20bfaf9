import { z } from 'zod';
import { ListVideosQuery } from '#contracts/api';
import { discoveryDeps } from '#composition/discovery';
import { idTokenVerifier } from '#composition/playback';
import { optionalAuthHttpHandler } from '../shared/http.ts';

/** `GET /api/v1/users/{userId}/videos?limit=&cursor=`: a channel's ready public videos, newest first. */
export const handler = optionalAuthHttpHandler(
  { params: z.object({ userId: z.string().min(1).max(128) }), query: ListVideosQuery, verifier: idTokenVerifier },
  async ({ params, query, caller }) => ({
    statusCode: 200,
    body: await discoveryDeps().discovery.channel(caller?.userId, params.userId, query),
  }),
);
