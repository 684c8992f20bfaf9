import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { videoChanges } from '#adapters/dynamo-video-stream';
import { indexingDeps } from '#composition/indexing';
import { log } from '../shared/log.ts';
import { observed } from '../shared/observability.ts';

/**
 * Table stream → search index. The batch's video changes are applied at once (the last change of
 * each video wins); other items are ignored. A failure is reported at the change it happened on,
 * so Lambda retries from there (earlier changes are done) and, once its retries are spent,
 * sends the failed range to the on-failure queue.
 */
export const handler = observed(async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const changes = videoChanges(event.Records);
  const outcome = await indexingDeps().indexer.apply(changes);
  if (outcome.failedAt !== undefined) {
    log.error('could not index a change', { failedAt: outcome.failedAt, failure: outcome.failure, records: event.Records.length });
    return { batchItemFailures: [{ itemIdentifier: outcome.failedAt }] };
  }
  log.info('indexed', { records: event.Records.length, ...outcome });
  return { batchItemFailures: [] };
});
