import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand, ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand } from '@aws-sdk/client-s3';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import type { PlatformInfo } from '../../local/platform.ts';
import { localCredentials, localS3, localSfn } from './clients.ts';

/**
 * Everything the platform stores, flattened to `where → fingerprint`: every table item (by its
 * keys, the whole item as fingerprint), every object of every bucket (ETag and size), every open
 * multipart upload with its parts, and every workflow execution with its status. Two equal
 * snapshots mean no request in between stored, removed or started anything.
 */
export type StateSnapshot = ReadonlyMap<string, string>;

export interface StateDiff {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
}

/** Reads the whole state of a local platform (see {@link StateSnapshot}). */
export function stateReader(platform: PlatformInfo): () => Promise<StateSnapshot> {
  const dynamo = new DynamoDBClient({ endpoint: platform.dynamoEndpoint, region: 'us-east-1', credentials: localCredentials });
  const s3 = localS3(platform);
  const sfn = localSfn(platform);

  async function table(into: Map<string, string>) {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamo.send(new ScanCommand({ TableName: platform.tableName, ConsistentRead: true, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) {
        into.set(`table ${item['pk']?.S}|${item['sk']?.S}`, stableJson(item));
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  async function bucket(name: string, into: Map<string, string>) {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: name, ContinuationToken: token }));
      for (const object of page.Contents ?? []) into.set(`s3 ${name}/${object.Key}`, `${object.ETag} ${object.Size}`);
      token = page.NextContinuationToken;
    } while (token);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: name }));
    for (const upload of uploads.Uploads ?? []) {
      const parts = await s3.send(new ListPartsCommand({ Bucket: name, Key: upload.Key, UploadId: upload.UploadId }));
      into.set(`multipart ${name}/${upload.Key}#${upload.UploadId}`, (parts.Parts ?? []).map((p) => `${p.PartNumber}:${p.ETag}`).join(','));
    }
  }

  async function executions(into: Map<string, string>) {
    let token: string | undefined;
    do {
      const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn: platform.workflowArn, nextToken: token }));
      for (const execution of page.executions ?? []) into.set(`execution ${execution.name}`, execution.status ?? '');
      token = page.nextToken;
    } while (token);
  }

  return async () => {
    const state = new Map<string, string>();
    const { Buckets = [] } = await s3.send(new ListBucketsCommand({}));
    await Promise.all([table(state), executions(state), ...Buckets.map((b) => bucket(b.Name!, state))]);
    return state;
  };
}

/** What differs between two snapshots, by location. */
export function diffState(before: StateSnapshot, after: StateSnapshot): StateDiff {
  const added = [...after.keys()].filter((key) => !before.has(key));
  const removed = [...before.keys()].filter((key) => !after.has(key));
  const changed = [...after.keys()].filter((key) => before.has(key) && before.get(key) !== after.get(key));
  return { added, removed, changed };
}

export const isUnchanged = (diff: StateDiff) => diff.added.length + diff.removed.length + diff.changed.length === 0;

/** Only the entries whose location or content mentions one of `needles` (a user's or video's id). */
export function stateOf(snapshot: StateSnapshot, needles: readonly string[]): StateSnapshot {
  return new Map([...snapshot].filter(([key, value]) => needles.some((n) => key.includes(n) || value.includes(n))));
}

/**
 * Waits until the platform is quiet: no workflow execution running, and nothing changed for
 * `quietMs` (the indexer caught up). Returns the last snapshot. Tests call it before a baseline,
 * so work left running by an earlier step (or test file) is not mistaken for a change made by the
 * requests under test.
 */
export async function settledState(
  read: () => Promise<StateSnapshot>,
  { quietMs = 1500, pollMs = 300, timeoutMs = 60_000 } = {},
): Promise<StateSnapshot> {
  const deadline = Date.now() + timeoutMs;
  let previous = await read();
  let quietSince = Date.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    const current = await read();
    const diff = diffState(previous, current);
    if (!isUnchanged(diff)) quietSince = Date.now();
    const running = [...current].filter(([key, status]) => key.startsWith('execution ') && status === 'RUNNING').map(([key]) => key);
    if (running.length === 0 && Date.now() - quietSince >= quietMs) return current;
    if (Date.now() > deadline) {
      throw new Error(`the platform did not settle in ${timeoutMs} ms: running ${running.join(', ') || 'nothing'}; last change:\n${describeDiff(diff)}`);
    }
    previous = current;
  }
}

/** A short, readable account of a diff for an assertion message. */
export function describeDiff(diff: StateDiff, max = 20): string {
  const lines = [
    ...diff.added.map((k) => `+ ${k}`),
    ...diff.removed.map((k) => `- ${k}`),
    ...diff.changed.map((k) => `~ ${k}`),
  ];
  return lines.length > max ? `${lines.slice(0, max).join('\n')}\n… and ${lines.length - max} more` : lines.join('\n') || 'no change';
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
