import { describe, expect, it } from 'vitest';
import { matches } from '../../local/streams.ts';

/** The filter the indexer's event source mapping carries (see lib/constructs/search-index.ts). */
const videoItemsOnly = [{ dynamodb: { Keys: { sk: { S: ['VIDEO'] } } } }];

const recordOf = (sk: string) => ({ eventName: 'MODIFY', dynamodb: { Keys: { pk: { S: 'VIDEO#v1' }, sk: { S: sk } } } });

describe('local stream mapping: Lambda event filtering', () => {
  it('delivers video items and holds back other rows, as the mapping filter does on AWS', () => {
    expect(matches(videoItemsOnly, recordOf('VIDEO'))).toBe(true);
    expect(matches(videoItemsOnly, recordOf('COVIEW#v2'))).toBe(false);
    expect(matches(videoItemsOnly, { eventName: 'INSERT', dynamodb: {} })).toBe(false);
  });

  it('delivers everything when the mapping has no filter, and any matching pattern is enough', () => {
    expect(matches([], recordOf('LIMIT'))).toBe(true);
    expect(matches([{ eventName: ['REMOVE'] }, ...videoItemsOnly], recordOf('VIDEO'))).toBe(true);
    expect(matches([{ eventName: ['REMOVE'] }], recordOf('VIDEO'))).toBe(false);
  });
});
