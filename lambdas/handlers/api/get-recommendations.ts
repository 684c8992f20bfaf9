import { FeedQuery } from '#contracts/api';
import { discoveryDeps } from '#composition/discovery';
import { httpHandler } from '../shared/http.ts';

/** `GET /api/v1/me/recommendations?limit=`: from the caller's watch history, else trending. */
export const handler = httpHandler({ query: FeedQuery }, async ({ query, caller }) => ({
  statusCode: 200,
  body: await discoveryDeps().discovery.recommendations(caller.userId, query.limit),
}));
