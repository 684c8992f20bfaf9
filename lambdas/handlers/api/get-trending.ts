import { FeedQuery } from '#contracts/api';
import { discoveryDeps } from '#composition/discovery';
import { idTokenVerifier } from '#composition/playback';
import { optionalAuthHttpHandler } from '../shared/http.ts';

/** `GET /api/v1/feed/trending?limit=`: ready public videos by views with time decay. */
export const handler = optionalAuthHttpHandler({ query: FeedQuery, verifier: idTokenVerifier }, async ({ query, caller }) => ({
  statusCode: 200,
  body: await discoveryDeps().discovery.trending(caller?.userId, query.limit),
}));
