import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  type Shard,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { resourcesOfType, type SynthesizedStack, type TemplateResolver } from './template.ts';

/** An `AWS::Lambda::EventSourceMapping` on the table's stream, as the template declares it. */
export interface StreamMapping {
  /** The function's name (local mode names functions by logical id). */
  readonly functionName: string;
  readonly batchSize: number;
  /** Retries of a failed batch before it is dropped (on AWS: sent to the on-failure destination). */
  readonly maxRetries: number;
  /** Event filter patterns; a record is delivered if any matches (none: every record). */
  readonly filters: readonly unknown[];
}

/** Every stream event source mapping of the templates (those whose source is a table stream). */
export function streamMappingsOf(stacks: SynthesizedStack[], resolver: TemplateResolver): StreamMapping[] {
  return resourcesOfType(stacks, 'AWS::Lambda::EventSourceMapping').flatMap(({ stack, resource }) => {
    const p = resource.Properties ?? {};
    if (!JSON.stringify(p['EventSourceArn'] ?? '').includes('StreamArn')) return [];
    const filters = ((p['FilterCriteria'] as { Filters?: { Pattern: string }[] } | undefined)?.Filters ?? []).map(
      (f) => JSON.parse(f.Pattern) as unknown,
    );
    return [
      {
        functionName: resolver.resolve(stack, p['FunctionName']),
        batchSize: Number(p['BatchSize'] ?? 100),
        maxRetries: Number(p['MaximumRetryAttempts'] ?? 2),
        filters,
      },
    ];
  });
}

export interface StreamPollerOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly tableName: string;
  readonly mapping: StreamMapping;
  readonly deliver: (event: DynamoDBStreamEvent) => Promise<unknown>;
  /** Pause between polls of a shard with nothing new, ms. Default 200. */
  readonly intervalMs?: number;
  /** Pause before a failed batch is retried, ms. Default 1000. */
  readonly retryDelayMs?: number;
  readonly log?: (line: string) => void;
}

export interface StreamPoller {
  /** Resolves once every record written before the call has been delivered (or given up on). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

interface ShardCursor {
  iterator: string | undefined;
  /** Records read but not yet delivered (a failed batch is retried from its failed record). */
  pending: StreamRecord[];
  attempts: number;
}

/**
 * What Lambda's event source mapping does for a DynamoDB stream, on DynamoDB Local's real
 * Streams API: finds the table's stream, reads each shard (parents before children, following
 * splits), filters records like the mapping's `FilterCriteria`, and invokes the function with a
 * `DynamoDBStreamEvent` of up to `BatchSize` records. A failed batch (thrown, or
 * `batchItemFailures`) is retried from the failed record, up to `MaximumRetryAttempts`, then
 * dropped with a log line (on AWS it would go to the on-failure destination). One batch at a time.
 *
 * Shards open when the poller starts are read from their latest record (what the function
 * has not seen yet); shards that open later, from their first.
 */
export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const client = new DynamoDBStreamsClient({ endpoint: options.endpoint, region: options.region, credentials: options.credentials });
  const interval = options.intervalMs ?? 200;
  const retryDelay = options.retryDelayMs ?? 1000;
  const log = options.log ?? ((line: string) => console.log(line));
  const { mapping } = options;

  const { Streams } = await client.send(new ListStreamsCommand({ TableName: options.tableName }));
  const streamArn = Streams?.[0]?.StreamArn;
  if (!streamArn) throw new Error(`table ${options.tableName} has no stream (its template must enable one)`);

  const cursors = new Map<string, ShardCursor>();
  const finished = new Set<string>();
  let firstDiscovery = true;
  let stopped = false;
  let round = 0;
  const waiters: { afterRound: number; resolve: () => void }[] = [];

  const discover = async () => {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription } = await client.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }));
      shards.push(...(StreamDescription?.Shards ?? []));
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start);
    for (const shard of shards) {
      const id = shard.ShardId!;
      if (cursors.has(id) || finished.has(id)) continue;
      // A child waits until its parent is read to the end, so each item's changes stay in order.
      if (shard.ParentShardId && cursors.has(shard.ParentShardId)) continue;
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      if (firstDiscovery && closed) {
        finished.add(id);
        continue;
      }
      const { ShardIterator } = await client.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: id, ShardIteratorType: firstDiscovery ? 'LATEST' : 'TRIM_HORIZON' }),
      );
      cursors.set(id, { iterator: ShardIterator, pending: [], attempts: 0 });
    }
    firstDiscovery = false;
  };

  /** Reads and delivers what one shard has; returns how many records it delivered or retried. */
  const pollShard = async (id: string, cursor: ShardCursor): Promise<number> => {
    if (cursor.pending.length === 0 && cursor.iterator) {
      try {
        const { Records, NextShardIterator } = await client.send(new GetRecordsCommand({ ShardIterator: cursor.iterator, Limit: 1000 }));
        cursor.pending.push(...(Records ?? []).filter((r) => matches(mapping.filters, r)));
        cursor.iterator = NextShardIterator;
      } catch (error) {
        if (!(error instanceof ExpiredIteratorException)) throw error;
        cursor.iterator = undefined;
        log(`stream: shard ${id} iterator expired; its unread records are lost`);
      }
    }
    if (cursor.pending.length === 0) {
      if (!cursor.iterator) {
        cursors.delete(id);
        finished.add(id);
      }
      return 0;
    }
    const batch = cursor.pending.slice(0, mapping.batchSize);
    const failedAt = await deliverBatch(batch);
    if (failedAt === undefined) {
      cursor.pending.splice(0, batch.length);
      cursor.attempts = 0;
      return batch.length;
    }
    const from = Math.max(0, batch.findIndex((r) => r.dynamodb?.SequenceNumber === failedAt));
    cursor.pending.splice(0, from);
    cursor.attempts++;
    if (cursor.attempts > mapping.maxRetries) {
      const dropped = cursor.pending.splice(0, batch.length - from);
      log(`stream: ${dropped.length} records failed ${cursor.attempts} times in ${mapping.functionName}; dropped (on AWS: the on-failure queue)`);
      cursor.attempts = 0;
    } else {
      await sleep(retryDelay);
    }
    return batch.length;
  };

  /** Invokes the function; the sequence number to resume from if it failed. */
  const deliverBatch = async (batch: StreamRecord[]): Promise<string | undefined> => {
    const event: DynamoDBStreamEvent = { Records: batch.map((r) => toLambdaRecord(r, streamArn)) };
    try {
      const response = (await options.deliver(event)) as DynamoDBBatchResponse | undefined;
      return response?.batchItemFailures?.[0]?.itemIdentifier;
    } catch (error) {
      log(`stream: ${mapping.functionName} threw ${String(error)}`);
      return batch[0]!.dynamodb?.SequenceNumber;
    }
  };

  const loop = (async () => {
    let lastDiscovery = 0;
    while (!stopped) {
      let delivered = 0;
      try {
        if (Date.now() - lastDiscovery > 2000 || cursors.size === 0) {
          await discover();
          lastDiscovery = Date.now();
        }
        for (const [id, cursor] of [...cursors]) {
          if (stopped) break;
          delivered += await pollShard(id, cursor);
        }
      } catch (error) {
        if (!stopped) log(`stream: polling failed: ${String(error)}`);
      }
      round++;
      if (delivered === 0 && [...cursors.values()].every((c) => c.pending.length === 0)) {
        for (const waiter of waiters.splice(0)) {
          if (round > waiter.afterRound) waiter.resolve();
          else waiters.push(waiter);
        }
        await sleep(interval);
      }
    }
  })();

  return {
    // A round that starts after the call and finds nothing new means everything before it is in.
    idle: () => new Promise<void>((resolve) => waiters.push({ afterRound: round + 1, resolve })),
    async stop() {
      stopped = true;
      await loop;
      for (const waiter of waiters.splice(0)) waiter.resolve();
      client.destroy();
    },
  };
}

/** The record as Lambda hands it over (the Streams API's record plus the source ARN). */
function toLambdaRecord(record: StreamRecord, streamArn: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(d.ApproximateCreationDateTime ? { ApproximateCreationDateTime: d.ApproximateCreationDateTime.getTime() / 1000 } : {}),
      Keys: d.Keys as never,
      ...(d.NewImage ? { NewImage: d.NewImage as never } : {}),
      ...(d.OldImage ? { OldImage: d.OldImage as never } : {}),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
  };
}

/**
 * Lambda event filtering, the subset the templates use: a pattern is an object whose leaves are
 * arrays of allowed literal values; a record matches if every leaf matches. No patterns: all match.
 */
export function matches(patterns: readonly unknown[], record: unknown): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((pattern) => matchesPattern(pattern, record));
}

function matchesPattern(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) return pattern.some((allowed) => allowed === value);
  if (pattern === null || typeof pattern !== 'object') return pattern === value;
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(pattern).every(([key, inner]) => matchesPattern(inner, (value as Record<string, unknown>)[key]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
