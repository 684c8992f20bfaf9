import { randomUUID } from 'node:crypto';
import type { S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda';

/** S3 → EventBridge ("Object Created") → SQS → function, as deployed; redelivery like SQS. */
export interface EventDeliveryOptions {
  readonly bucket: string;
  readonly deliver: (event: SQSEvent) => Promise<unknown>;
  /** Deliveries per message before it would land in the DLQ (the queue's maxReceiveCount). */
  readonly maxReceiveCount?: number;
  /** Delay before a failed message is visible again, ms (the queue's visibility timeout). */
  readonly retryDelayMs?: number;
  readonly log?: (line: string) => void;
}

/** A message the starter failed `maxReceiveCount` times, kept as the dead letter queue keeps it. */
export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
  readonly deadLetteredAt: string;
}

/**
 * The upload queue's dead letter queue: messages wait here until redriven, as on AWS (where
 * `aws sqs start-message-move-task --source-arn <DeadLetterQueue ARN>` moves them back).
 */
export interface DeadLetters {
  list(): readonly DeadLetter[];
  /** Moves every message back to the queue (new receive count) and resolves when each was delivered again. */
  redrive(): Promise<{ moved: number }>;
}

/**
 * Turns the S3 stand-in's notifications for one bucket into what the starter receives on AWS:
 * the EventBridge `Object Created` event as the body of an SQS message. A message the function
 * reports as failed (or a thrown batch) is delivered again after the visibility delay, up to
 * `maxReceiveCount` times, then kept in the dead letter queue ({@link DeadLetters}) until redriven.
 */
export function deliverObjectCreated(options: EventDeliveryOptions) {
  const max = options.maxReceiveCount ?? 5;
  const delay = options.retryDelayMs ?? 2000;
  const log = options.log ?? ((line: string) => console.log(line));
  const pending = new Set<Promise<void>>();
  const dead: DeadLetter[] = [];
  const track = (delivery: Promise<void>) => {
    const tracked = delivery.finally(() => pending.delete(tracked));
    pending.add(tracked);
    return tracked;
  };

  const send = async (body: string, messageId: string, receiveCount: number): Promise<void> => {
    const event: SQSEvent = {
      Records: [
        {
          messageId,
          receiptHandle: randomUUID(),
          body,
          attributes: {
            ApproximateReceiveCount: String(receiveCount),
            SentTimestamp: String(Date.now()),
            SenderId: 'events.amazonaws.com',
            ApproximateFirstReceiveTimestamp: String(Date.now()),
          },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:local-upload-events',
          awsRegion: 'us-east-1',
        },
      ],
    };
    let failed = false;
    try {
      const response = (await options.deliver(event)) as SQSBatchResponse | undefined;
      failed = (response?.batchItemFailures ?? []).some((f) => f.itemIdentifier === messageId);
    } catch (error) {
      failed = true;
      log(`upload event ${messageId}: delivery threw ${String(error)}`);
    }
    if (!failed) return;
    if (receiveCount >= max) {
      log(`upload event ${messageId}: failed ${receiveCount} times; dead-lettered`);
      dead.push({ messageId, body, receiveCount, deadLetteredAt: new Date().toISOString() });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    await send(body, messageId, receiveCount + 1);
  };

  return {
    /** Listener for the S3 stand-in's `object-created` events. */
    onS3Event(s3Event: S3Event): void {
      for (const record of s3Event.Records) {
        if (record.s3.bucket.name !== options.bucket) continue;
        const body = JSON.stringify({
          version: '0',
          id: randomUUID(),
          'detail-type': 'Object Created',
          source: 'aws.s3',
          account: '000000000000',
          time: record.eventTime,
          region: 'us-east-1',
          resources: [`arn:aws:s3:::${record.s3.bucket.name}`],
          detail: {
            version: '0',
            bucket: { name: record.s3.bucket.name },
            object: { key: record.s3.object.key, size: record.s3.object.size, etag: record.s3.object.eTag },
            reason: record.eventName.endsWith('CompleteMultipartUpload') ? 'CompleteMultipartUpload' : 'PutObject',
          },
        });
        track(send(body, randomUUID(), 1));
      }
    },
    deadLetters: {
      list: () => [...dead],
      async redrive() {
        // As a message move task does: each message goes back to the source queue under a new id.
        const moved = dead.splice(0);
        await Promise.all(moved.map((m) => track(send(m.body, randomUUID(), 1))));
        return { moved: moved.length };
      },
    } satisfies DeadLetters,
    /** Resolves when every delivery in flight has finished (tests, shutdown). */
    async idle(): Promise<void> {
      while (pending.size) await Promise.all([...pending]);
    },
  };
}
