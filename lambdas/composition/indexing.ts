import { Indexer } from '#domain/indexer';
import { searchIndex } from './search.ts';

let indexer: Indexer | undefined;

/**
 * The composition root of the indexer function (table stream → search index). The index is the
 * one search reads, built from the same configuration (`Env.searchBackend` and its location).
 */
export function indexingDeps(): { indexer: Indexer } {
  indexer ??= new Indexer({ index: searchIndex(), clock: { now: () => new Date() } });
  return { indexer };
}
