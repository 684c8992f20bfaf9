import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RateDecision, RateLimiter } from '#domain/ports';
import { unavailable } from './transient-errors.ts';
import { limitKey } from './keys.ts';

/**
 * A rolling-window limit as `limit` slots on one item, each holding the time it was last taken.
 * Taking a slot is one conditional write ("empty, or taken before the window began"), so
 * concurrent callers can never take more than `limit` slots in any window — exact, unlike API
 * Gateway usage plans. The item expires (TTL) one window after its last write.
 */
export class DynamoRateLimiter implements RateLimiter {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async acquire(key: string, limit: number, windowSeconds: number, now: Date): Promise<RateDecision> {
    const nowMs = now.getTime();
    const windowStart = nowMs - windowSeconds * 1000;
    for (let slot = 0; slot < limit; slot++) {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: limitKey(key),
            UpdateExpression: 'SET #slot = :now, #entity = :entity, #expiresAt = :expiresAt',
            ConditionExpression: 'attribute_not_exists(#slot) OR #slot <= :windowStart',
            ExpressionAttributeNames: { '#slot': `slot${slot}`, '#entity': 'entity', '#expiresAt': 'expiresAt' },
            ExpressionAttributeValues: {
              ':now': nowMs,
              ':windowStart': windowStart,
              ':entity': 'rate-limit',
              ':expiresAt': Math.ceil(nowMs / 1000) + windowSeconds,
            },
          }),
        );
        return { allowed: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) return unavailable('the rate limiter')(error);
      }
    }
    const { Item } = await this.client
      .send(new GetCommand({ TableName: this.tableName, Key: limitKey(key), ConsistentRead: true }))
      .catch(unavailable('the rate limiter'));
    const taken = Array.from({ length: limit }, (_, i) => Number(Item?.[`slot${i}`] ?? 0));
    const oldest = Math.min(...taken);
    // A racer may have taken a slot after this request read its clock: that slot proves the time
    // is already later than `now`, so the wait is counted from the latest time seen. Counted from
    // `now` it could exceed the window itself (3601 s for an hour).
    const seenNow = Math.max(nowMs, ...taken);
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + windowSeconds * 1000 - seenNow) / 1000)) };
  }
}
