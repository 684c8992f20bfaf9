import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { OPENSEARCH_INDEX } from '#contracts/env';
import { indexableVideo, isVideoKey } from '#adapters/dynamo-video-stream';
import { EmbeddedSearchIndex } from '#adapters/embedded-search-index';
import { OpenSearchSearchIndex } from '#adapters/opensearch-search-index';
import { S3SnapshotStore } from '#adapters/s3-snapshot-store';
import { ConflictError } from '#domain/errors';
import { searchDocument } from '#domain/indexer';
import type { SearchDocument } from '#domain/ports';
import { SEARCH_SNAPSHOT_KEY } from '#lib/constructs/search-index';
import type { PlatformInfo } from './platform.ts';

/** Where to rebuild: the table to read and the index to write. */
export type ReindexTarget = {
  readonly dynamo: DynamoDBClient;
  readonly tableName: string;
  readonly log?: (line: string) => void;
} & (
  | { readonly backend: 'embedded'; readonly s3: S3Client; readonly bucket: string; readonly key: string }
  | { readonly backend: 'opensearch'; readonly client: Client }
);

export interface ReindexOutcome {
  readonly indexed: number;
  /** Documents the index held for videos that no longer exist. */
  readonly removed: number;
}

const SAVE_ATTEMPTS = 5;

/**
 * Rebuilds the search index from the table: every video item becomes a document, and documents
 * of videos that no longer exist are dropped. The embedded snapshot is replaced whole with a
 * conditional write on the ETag read *before* the scan, so an indexer save that lands meanwhile
 * makes it start over instead of being overwritten. OpenSearch gets bulk upserts, then the
 * documents with no video are deleted.
 */
export async function reindex(target: ReindexTarget): Promise<ReindexOutcome> {
  const log = target.log ?? (() => undefined);
  if (target.backend === 'embedded') {
    const store = new S3SnapshotStore(target.s3, target.bucket, target.key);
    for (let attempt = 1; ; attempt++) {
      const before = await store.load();
      const docs = await scanDocuments(target);
      const index = new EmbeddedSearchIndex();
      await index.upsert(docs);
      try {
        await store.save(index.toSnapshot(), before?.etag);
        const keep = new Set(docs.map((d) => d.id));
        const removed = before ? snapshotIds(before.body).filter((id) => !keep.has(id)).length : 0;
        return { indexed: docs.length, removed };
      } catch (error) {
        if (!(error instanceof ConflictError) || attempt >= SAVE_ATTEMPTS) throw error;
        log(`the index changed during the rebuild; starting over (attempt ${attempt + 1})`);
      }
    }
  }
  const index = new OpenSearchSearchIndex(target.client, OPENSEARCH_INDEX);
  const docs = await scanDocuments(target);
  for (let i = 0; i < docs.length; i += 500) await index.upsert(docs.slice(i, i + 500));
  const keep = new Set(docs.map((d) => d.id));
  const stale = (await openSearchIds(target.client)).filter((id) => !keep.has(id));
  for (let i = 0; i < stale.length; i += 500) await index.remove(stale.slice(i, i + 500));
  return { indexed: docs.length, removed: stale.length };
}

/** Every video item of the table (a consistent scan), as documents indexed now. */
async function scanDocuments(target: { dynamo: DynamoDBClient; tableName: string }): Promise<SearchDocument[]> {
  const documents = DynamoDBDocumentClient.from(target.dynamo);
  const now = new Date();
  const docs: SearchDocument[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({
        TableName: target.tableName,
        ConsistentRead: true,
        FilterExpression: 'sk = :video',
        ExpressionAttributeValues: { ':video': 'VIDEO' },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      if (isVideoKey(item)) docs.push(searchDocument(indexableVideo(item), now));
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return docs;
}

/** The ids in an embedded snapshot (its `docs`), for the report only. */
function snapshotIds(body: string): string[] {
  try {
    const parsed = JSON.parse(body) as { docs?: { id?: unknown }[] };
    return (parsed.docs ?? []).flatMap((d) => (typeof d.id === 'string' ? [d.id] : []));
  } catch {
    return [];
  }
}

/** Every document id in the OpenSearch index (scrolled, ids only). */
async function openSearchIds(client: Client): Promise<string[]> {
  const ids: string[] = [];
  type Page = { _scroll_id?: string; hits: { hits: { _id: string }[] } };
  let page = (await client.search({ index: OPENSEARCH_INDEX, scroll: '1m', body: { size: 1000, _source: false, query: { match_all: {} } } }))
    .body as unknown as Page;
  while (page.hits.hits.length > 0) {
    ids.push(...page.hits.hits.map((h) => h._id));
    if (!page._scroll_id) break;
    page = (await client.scroll({ body: { scroll: '1m', scroll_id: page._scroll_id } })).body as unknown as Page;
  }
  return ids;
}

/**
 * `npm run search:reindex [-- options]`. By default against the running local platform
 * (`.local/platform.json`, or `VODSTACK_DATA_DIR`); against AWS with `--table` and either
 * `--bucket` (embedded; `--key` defaults to the snapshot key) or `--endpoint` (OpenSearch),
 * using the default credential chain and `AWS_REGION`.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      table: { type: 'string' },
      bucket: { type: 'string' },
      key: { type: 'string', default: SEARCH_SNAPSHOT_KEY },
      endpoint: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run search:reindex [-- --table NAME (--bucket MEDIA_BUCKET [--key KEY] | --endpoint https://OPENSEARCH)]');
    return;
  }
  const log = (line: string) => console.error(line);
  let target: ReindexTarget;
  if (values.table) {
    const region = process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'] ?? 'us-east-1';
    const dynamo = new DynamoDBClient({ region });
    if (values.endpoint) {
      const service = new URL(values.endpoint).hostname.endsWith('.aoss.amazonaws.com') ? 'aoss' : 'es';
      const client = new Client({ ...AwsSigv4Signer({ region, service, getCredentials: defaultProvider() }), node: values.endpoint });
      target = { backend: 'opensearch', dynamo, tableName: values.table, client, log };
    } else if (values.bucket) {
      const s3 = new S3Client({ region, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
      target = { backend: 'embedded', dynamo, tableName: values.table, s3, bucket: values.bucket, key: values.key, log };
    } else {
      throw new Error('with --table, give --bucket (embedded backend) or --endpoint (OpenSearch)');
    }
  } else {
    const dataDir = process.env['VODSTACK_DATA_DIR'] ?? '.local';
    let info: PlatformInfo;
    try {
      info = JSON.parse(readFileSync(join(dataDir, 'platform.json'), 'utf8')) as PlatformInfo;
    } catch {
      throw new Error(`no running platform found in ${dataDir}/; start it with "npm start" first, or pass --table for AWS`);
    }
    target = localTarget(info, log);
  }
  const started = performance.now();
  const outcome = await reindex(target);
  console.log(`indexed ${outcome.indexed} videos, removed ${outcome.removed} stale documents in ${(performance.now() - started).toFixed(0)} ms`);
}

/** The running local platform's table and snapshot (local mode always uses the embedded backend). */
export function localTarget(info: PlatformInfo, log?: (line: string) => void): ReindexTarget {
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return {
    backend: 'embedded',
    dynamo: new DynamoDBClient({ endpoint: info.dynamoEndpoint, region: 'us-east-1', credentials }),
    tableName: info.tableName,
    s3: new S3Client({
      endpoint: info.s3Endpoint,
      region: 'us-east-1',
      credentials,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
    bucket: info.mediaBucket,
    key: SEARCH_SNAPSHOT_KEY,
    ...(log ? { log } : {}),
  };
}

/**
 * Rebuilds the local index if it has no snapshot yet: a data folder from before search existed,
 * or a deleted snapshot. The stream only carries changes made while the platform runs.
 */
export async function reindexIfMissing(info: PlatformInfo, log?: (line: string) => void): Promise<ReindexOutcome | undefined> {
  const target = localTarget(info, log);
  if (target.backend !== 'embedded') return undefined;
  try {
    if (await new S3SnapshotStore(target.s3, target.bucket, target.key).etag()) return undefined;
    const outcome = await reindex(target);
    if (outcome.indexed > 0) log?.(`search: indexed ${outcome.indexed} videos that had no index yet`);
    return outcome;
  } finally {
    target.s3.destroy();
    target.dynamo.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
