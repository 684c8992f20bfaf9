import { z } from 'zod';
import { RecordViewRequest, VideoId } from '#contracts/api';
import { discoveryDeps } from '#composition/discovery';
import { idTokenVerifier } from '#composition/playback';
import { optionalAuthHttpHandler } from '../shared/http.ts';

/**
 * `POST /api/v1/videos/{id}/views`: one view of a ready video the caller may see, counted once
 * per signed-in user (else `sessionId`) per video per clock hour.
 */
export const handler = optionalAuthHttpHandler(
  { params: z.object({ id: VideoId }), body: RecordViewRequest, verifier: idTokenVerifier },
  async ({ params, body, caller }) => ({
    statusCode: 200,
    body: await discoveryDeps().discovery.recordView(caller?.userId, params.id, body.sessionId),
  }),
);
