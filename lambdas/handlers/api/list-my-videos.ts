import { ListVideosQuery } from '#contracts/api';
import { videoDeps } from '#composition/videos';
import { httpHandler } from '../shared/http.ts';

/** `GET /api/v1/me/videos?limit=&cursor=`: the caller's videos, newest first, a page at a time. */
export const handler = httpHandler({ query: ListVideosQuery }, async ({ query, caller }) => ({
  statusCode: 200,
  body: await videoDeps().library.listMine(caller.userId, query),
}));
