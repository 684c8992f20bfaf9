import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { MediaLayout } from '#contracts/workflow';
import type { SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiClient } from '../support/api.ts';
import { localS3, localSfn, localCredentials } from '../support/clients.ts';
import { makeClip } from '../support/media.ts';
import { uploadFile, waitForOutcome } from '../support/upload.ts';

const platform = inject('platform');
const credentials = localCredentials;
const sfn = localSfn(platform);
const s3 = localS3(platform);
const dir = mkdtempSync(join(tmpdir(), 'vodstack-faults-'));

const executionsOf = async (id: string) =>
  ((await sfn.send(new ListExecutionsCommand({ stateMachineArn: platform.workflowArn }))).executions ?? []).filter((e) =>
    e.name!.startsWith(`${id}-`),
  );

/** The S3 → EventBridge → SQS message the starter receives for an uploaded source. */
function objectCreatedMessage(id: string, n: number): SQSEvent['Records'][number] {
  return {
    messageId: `m-${n}`,
    receiptHandle: `r-${n}`,
    body: JSON.stringify({
      'detail-type': 'Object Created',
      source: 'aws.s3',
      detail: { bucket: { name: platform.rawBucket }, object: { key: `uploads/${id}/source` } },
    }),
    attributes: {} as never,
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:upload-events',
    awsRegion: 'us-east-1',
  };
}

/** Pids of ffmpeg processes transcoding this video's source (their command line names its key). */
function transcoders(id: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(`uploads/${id}/source`) && cmdline.includes('filter_complex')) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

describe('duplicates and crashes', () => {
  let creator: ApiClient;
  beforeAll(async () => {
    creator = await ApiClient.signUp(platform, 'faults');
    // The starter runs here, in the test process, against the platform's stand-ins.
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: platform.dynamoEndpoint,
      AWS_ENDPOINT_URL_SFN: platform.sfnEndpoint,
      TABLE_NAME: platform.tableName,
      WORKFLOW_ARN: platform.workflowArn,
    });
  });

  it('runs one execution and writes outputs once when the upload event arrives 10 times at once', async () => {
    const source = join(dir, 'dup.mp4');
    await makeClip(source, { width: 640, height: 360, seconds: 4 });
    const id = await uploadFile(creator, source);
    const { handler } = await import('../../lambdas/handlers/events/start-transcode.ts');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, n) => handler({ Records: [objectCreatedMessage(id, n)] })),
    );
    for (const result of results) expect(result.batchItemFailures).toEqual([]);
    expect((await waitForOutcome(creator, id)).status).toBe('ready');
    expect((await executionsOf(id)).map((e) => [e.name, e.status])).toEqual([[`${id}-g1`, 'SUCCEEDED']]);
  }, 120_000);

  it('retries a chunk whose ffmpeg is killed mid-way, and still ends ready with progress never going back', async () => {
    const source = join(dir, 'crash.mp4');
    await makeClip(source, { width: 1280, height: 720, seconds: 36 });
    const id = await uploadFile(creator, source);
    let killed = 0;
    const deadline = Date.now() + 60_000;
    while (killed === 0 && Date.now() < deadline) {
      const [pid] = transcoders(id);
      if (pid) {
        await new Promise((resolve) => setTimeout(resolve, 500)); // let it get some work done
        try {
          execFileSync('kill', ['-KILL', String(pid)]);
          killed++;
        } catch {
          // it finished first; try the next one
        }
      } else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(killed).toBe(1);
    const outcome = await waitForOutcome(creator, id, 240_000);
    expect(outcome.status, JSON.stringify(outcome)).toBe('ready');
    for (let i = 1; i < outcome.progressSeen.length; i++) {
      expect(outcome.progressSeen[i]).toBeGreaterThanOrEqual(outcome.progressSeen[i - 1]);
    }
    expect((await executionsOf(id)).map((e) => e.status)).toEqual(['SUCCEEDED']);
    // The killed chunk was redone in full: every rendition still covers the whole source.
    for (const rung of ['144p', '720p']) {
      const playlist = await (
        await s3.send(new GetObjectCommand({ Bucket: platform.mediaBucket, Key: `${MediaLayout.rendition(id, rung)}playlist.m3u8` }))
      ).Body!.transformToString();
      const total = [...playlist.matchAll(/#EXTINF:([\d.]+),/g)].reduce((sum, m) => sum + Number(m[1]), 0);
      expect(Math.abs(total - 36), `${rung} lasts ${total}`).toBeLessThanOrEqual(0.1);
    }
  }, 300_000);
});
