import { SearchQuery } from '#contracts/api';
import { idTokenVerifier } from '#composition/playback';
import { searchDeps } from '#composition/search';
import { optionalAuthHttpHandler } from '../shared/http.ts';

/**
 * `GET /api/v1/search/videos?q=&tags=&page_size=&cursor=`: ranked cards of ready public videos
 * (and the caller's own, when signed in), with an opaque cursor for the next page.
 */
export const handler = optionalAuthHttpHandler({ query: SearchQuery, verifier: idTokenVerifier }, async ({ query, caller }) => ({
  statusCode: 200,
  body: await searchDeps().search.search(caller?.userId, query),
}));
