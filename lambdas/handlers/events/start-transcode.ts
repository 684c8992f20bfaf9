import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { pipelineDeps } from '#composition/pipeline';
import { log } from '../shared/log.ts';
import { newCorrelationId, observed, saneCorrelationId, useCorrelationId } from '../shared/observability.ts';

/** The EventBridge "Object Created" event S3 sends, as the SQS message body. */
const ObjectCreated = z.object({
  /** EventBridge's event id: the correlation id of the execution it starts. */
  id: z.string().optional(),
  'detail-type': z.literal('Object Created'),
  detail: z.object({ bucket: z.object({ name: z.string() }), object: z.object({ key: z.string() }) }),
});

/**
 * Raw bucket `Object Created` (EventBridge → SQS) → start the video's workflow. The API's
 * complete call starts the same execution name, so whichever comes second is a no-op. A message
 * that fails is reported alone, so SQS retries only it (and parks it in the DLQ after 5 tries).
 * Each upload event is its own job: its execution carries the event's id as correlation id.
 */
export const handler = observed(async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const { pipeline } = pipelineDeps();
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      const parsed = ObjectCreated.safeParse(JSON.parse(record.body));
      useCorrelationId((parsed.success ? saneCorrelationId(parsed.data.id) : undefined) ?? saneCorrelationId(record.messageId) ?? newCorrelationId());
      if (!parsed.success) {
        log.warn('ignored a message that is not an S3 Object Created event', { messageId: record.messageId });
        continue;
      }
      // EventBridge keys are URL-encoded like S3 notification keys.
      const key = decodeURIComponent(parsed.data.detail.object.key.replace(/\+/g, ' '));
      const outcome = await pipeline.sourceStored(key);
      log.info('source stored', { key, outcome });
    } catch (error) {
      log.error('could not start the workflow', { messageId: record.messageId, error });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
});
