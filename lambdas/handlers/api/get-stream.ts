import { z } from 'zod';
import { VideoId } from '#contracts/api';
import { idTokenVerifier, playbackDeps } from '#composition/playback';
import { optionalAuthHttpHandler } from '../shared/http.ts';

/**
 * `GET /api/v1/videos/{id}/stream`: CDN URLs to play a ready video from (signed for private and
 * unlisted videos). Anyone may ask; private videos answer 404 to everyone but their owner.
 */
export const handler = optionalAuthHttpHandler(
  { params: z.object({ id: VideoId }), verifier: idTokenVerifier },
  async ({ params, caller }) => {
    const stream = await playbackDeps().playback.stream(caller?.userId, params.id);
    // Private URLs are personal; public ones may be cached by the browser until they rotate.
    return { statusCode: 200, body: stream, headers: { 'cache-control': 'private, no-store' } };
  },
);
