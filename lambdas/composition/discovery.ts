import { Env, VideoReadConfig } from '#contracts/env';
import { documentClient } from '#adapters/clients';
import { DynamoVideoRepository } from '#adapters/dynamo-video-repository';
import { DynamoViewStore } from '#adapters/dynamo-view-store';
import { Discovery } from '#domain/discovery';
import type { SearchIndex } from '#domain/ports';
import { searchIndex } from './search.ts';

let discovery: Discovery | undefined;

/**
 * The search index, opened on first use: recording views and channel pages never read it, so
 * those functions are not given its configuration, and only a call would fail for want of it.
 */
const lazyIndex: SearchIndex = {
  upsert: (docs) => searchIndex().upsert(docs),
  remove: (ids) => searchIndex().remove(ids),
  search: (request) => searchIndex().search(request),
  trending: (request) => searchIndex().trending(request),
};

/** The composition root of discovery: views, trending, related, recommendations, channels. */
export function discoveryDeps(): { discovery: Discovery } {
  if (!discovery) {
    const config = VideoReadConfig.parse(process.env);
    discovery = new Discovery({
      videos: new DynamoVideoRepository(documentClient(), config[Env.tableName]),
      views: new DynamoViewStore(documentClient(), config[Env.tableName]),
      index: lazyIndex,
      clock: { now: () => new Date() },
    });
  }
  return { discovery };
}
