import { z } from 'zod';
import { FeedQuery, VideoId } from '#contracts/api';
import { discoveryDeps } from '#composition/discovery';
import { idTokenVerifier } from '#composition/playback';
import { optionalAuthHttpHandler } from '../shared/http.ts';

/** `GET /api/v1/videos/{id}/related?limit=`: videos watched together with it or like it. */
export const handler = optionalAuthHttpHandler(
  { params: z.object({ id: VideoId }), query: FeedQuery, verifier: idTokenVerifier },
  async ({ params, query, caller }) => ({
    statusCode: 200,
    body: await discoveryDeps().discovery.related(caller?.userId, params.id, query.limit),
  }),
);
