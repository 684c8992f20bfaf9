import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MediaLayout, StateNames } from '#contracts/workflow';
import { rawKeyFor } from '#domain/video';
import { MEDIA_KEYS, RAW_KEYS } from '#lib/constructs/app-function';
import { Metadata } from '#lib/metadata';
import { actionsOf, functionStatements, identityStatements, resourcesOfType, synthesize, type CfnResourceJson, type Statement } from './support.ts';

/** Every stack's template. */
function templates(context: Record<string, unknown>): Map<string, Template> {
  const synth = synthesize(context);
  const stacks = synth.app.node.children.filter((c): c is Stack => c instanceof Stack);
  return new Map(stacks.map((s) => [s.stackName, Template.fromStack(s)]));
}

/** A glob like `uploads/*` as a regular expression over whole keys. */
function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('[^]*')}$`);
}

const wildcard = (action: string) => action === '*' || /^[a-z0-9-]+:\*$/i.test(action);

/** Allow statements of every resource policy (buckets, keys, queues, topics). */
function resourcePolicyStatements(template: Template): { type: string; statement: Record<string, any> }[] {
  const found: { type: string; statement: Record<string, any> }[] = [];
  const policies: [string, (r: CfnResourceJson) => unknown][] = [
    ['AWS::S3::BucketPolicy', (r) => r.Properties!.PolicyDocument],
    ['AWS::KMS::Key', (r) => r.Properties!.KeyPolicy],
    ['AWS::SQS::QueuePolicy', (r) => r.Properties!.PolicyDocument],
    ['AWS::SNS::TopicPolicy', (r) => r.Properties!.PolicyDocument],
    ['AWS::SecretsManager::ResourcePolicy', (r) => r.Properties!.ResourcePolicy],
  ];
  for (const [type, doc] of policies) {
    for (const resource of Object.values(resourcesOfType(template, type))) {
      const statements = ((doc(resource) as { Statement?: Record<string, any>[] } | undefined)?.Statement ?? []).filter((s) => s.Effect === 'Allow');
      found.push(...statements.map((statement) => ({ type, statement })));
    }
  }
  return found;
}

const VARIANTS = [
  ['ffmpeg, embedded search', {}],
  ['ffmpeg, OpenSearch', { search: 'opensearch' }],
  ['MediaConvert, embedded search', { transcoder: 'mediaconvert' }],
  ['MediaConvert, OpenSearch', { transcoder: 'mediaconvert', search: 'opensearch' }],
] as const;

describe.each(VARIANTS)('least privilege across every stack (%s)', (_, context) => {
  let all: Map<string, Template>;
  beforeAll(() => {
    all = templates(context);
  });

  it('grants no identity `*` or `service:*` action, on data or anything else', () => {
    let count = 0;
    for (const [stack, template] of all) {
      for (const statement of identityStatements(template).filter((s) => s.Effect === 'Allow')) {
        for (const action of actionsOf(statement)) {
          count++;
          expect(wildcard(action), `${stack}: ${action} on ${JSON.stringify(statement.Resource)}`).toBe(false);
        }
      }
    }
    expect(count).toBeGreaterThan(100);
  });

  it('allows no `*` or `service:*` in resource policies, but the account-root statement every key policy needs', () => {
    for (const [stack, template] of all) {
      for (const { type, statement } of resourcePolicyStatements(template)) {
        const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
        if (!actions.some(wildcard)) continue;
        // KMS's default key policy: the account's IAM policies decide who uses the key (without it
        // no identity grant on the key could work). It names the account, not a principal in it.
        expect(type, `${stack}: ${JSON.stringify(statement)}`).toBe('AWS::KMS::Key');
        expect(actions).toEqual(['kms:*']);
        expect(statement.Principal).toEqual({ AWS: { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':root']] } });
        expect(statement.Condition).toBeUndefined();
      }
    }
  });
});

describe('the ffmpeg workers', () => {
  let pipeline: Template;
  let workers: Map<string, Statement[]>;
  beforeAll(() => {
    pipeline = templates({}).get('Vodstack-Pipeline')!;
    workers = new Map();
    for (const fn of Object.values(resourcesOfType(pipeline, 'AWS::Lambda::Function'))) {
      if (fn.Properties!.Environment?.Variables?.FFMPEG_PATH === undefined) continue;
      workers.set(String(fn.Metadata?.[Metadata.workflowTask]), functionStatements(pipeline, fn));
    }
  });

  const isRaw = (s: Statement) => JSON.stringify(s.Resource).includes('MediaBucketsRaw');
  const isMedia = (s: Statement) => JSON.stringify(s.Resource).includes('MediaBucketsMedia');
  const keyPattern = (s: Statement) => {
    const resource = s.Resource as { 'Fn::Join'?: [string, unknown[]] };
    return resource['Fn::Join'] ? String(resource['Fn::Join'][1][1]) : undefined;
  };

  it('are exactly the tasks that run ffmpeg or ffprobe', () => {
    expect([...workers.keys()].sort()).toEqual(
      [StateNames.probe, StateNames.transcodeChunk, StateNames.transcodeAudio, StateNames.package, StateNames.thumbnails].sort(),
    );
  });

  it('read originals only with GetObject, under uploads/ of the raw bucket, and decrypt only with the raw key', () => {
    for (const [task, statements] of workers) {
      for (const statement of statements.filter(isRaw)) {
        const actions = actionsOf(statement);
        if (JSON.stringify(statement.Resource).includes('RawKey')) {
          expect(actions, task).toEqual(['kms:Decrypt']);
        } else {
          expect(actions, task).toEqual(['s3:GetObject']);
          expect(keyPattern(statement), task).toBe(`/${RAW_KEYS}`);
        }
      }
    }
    // Package works from what the chunks wrote: no original.
    expect(workers.get(StateNames.package)!.some(isRaw)).toBe(false);
  });

  it('write only under videos/ of the media bucket, never delete, and read it only to package', () => {
    for (const [task, statements] of workers) {
      for (const statement of statements.filter(isMedia)) {
        const actions = actionsOf(statement);
        if (JSON.stringify(statement.Resource).includes('MediaKey')) {
          expect(actions.sort(), task).toEqual(task === StateNames.package ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:GenerateDataKey']);
        } else if (actions.includes('s3:ListBucket')) {
          expect(task).toBe(StateNames.package);
          expect(actions).toEqual(['s3:ListBucket']);
          expect(statement.Condition).toEqual({ StringLike: { 's3:prefix': [MEDIA_KEYS] } });
        } else {
          expect(keyPattern(statement), task).toBe(`/${MEDIA_KEYS}`);
          const allowed = task === StateNames.package ? ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'] : ['s3:AbortMultipartUpload', 's3:PutObject'];
          expect(actions.sort(), task).toEqual(allowed);
        }
      }
      expect(statements.flatMap(actionsOf).filter((a) => /^s3:Delete/.test(a)), task).toEqual([]);
    }
  });

  it('touch no other service, and the table only to record chunk progress (UpdateItem on the table itself)', () => {
    for (const [task, statements] of workers) {
      const services = new Set(statements.flatMap(actionsOf).map((a) => a.split(':')[0]));
      const expected = task === StateNames.transcodeChunk ? ['dynamodb', 'kms', 's3', 'xray'] : ['kms', 's3', 'xray'];
      expect([...services].sort(), task).toEqual(expected);
    }
    const tableStatements = workers.get(StateNames.transcodeChunk)!.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(tableStatements).toHaveLength(1);
    expect(actionsOf(tableStatements[0]!)).toEqual(['dynamodb:UpdateItem']);
    expect(JSON.stringify(tableStatements[0]!.Resource)).not.toContain('/index/');
  });

  it('scope their prefixes to the layouts the code writes', () => {
    expect(rawKeyFor('v_abc123')).toMatch(glob(RAW_KEYS));
    for (const key of [MediaLayout.hlsMaster('v_abc123'), MediaLayout.poster('v_abc123'), `${MediaLayout.rendition('v_abc123', '720p')}init.mp4`]) {
      expect(key).toMatch(glob(MEDIA_KEYS));
    }
    // Nothing the CDN does not serve (the search snapshot) and nothing outside one video's folder.
    expect('search/videos.json').not.toMatch(glob(MEDIA_KEYS));
    expect('videos/loose-file.m3u8').not.toMatch(glob(MEDIA_KEYS));
  });
});

describe('the MediaConvert job role', () => {
  it('reads only uploads/ of the raw bucket and writes only under videos/ of the media bucket', () => {
    const pipeline = templates({ transcoder: 'mediaconvert' }).get('Vodstack-Pipeline')!;
    const roles = Object.entries(resourcesOfType(pipeline, 'AWS::IAM::Role')).filter(([, r]) =>
      JSON.stringify(r.Properties!.AssumeRolePolicyDocument).includes('mediaconvert.amazonaws.com'),
    );
    expect(roles).toHaveLength(1);
    const [roleId] = roles[0]!;
    const policy = Object.values(resourcesOfType(pipeline, 'AWS::IAM::Policy')).find((p) =>
      (p.Properties!.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
    )!;
    const s3 = (policy.Properties!.PolicyDocument.Statement as Statement[]).filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    const byBucket = (bucket: string) => s3.filter((s) => JSON.stringify(s.Resource).includes(bucket));
    expect(byBucket('MediaBucketsRaw').map((s) => [actionsOf(s), JSON.stringify(s.Resource).match(/"(\/[^"]+)"\]\]\}$/)?.[1]])).toEqual([
      [['s3:GetObject'], `/${RAW_KEYS}`],
    ]);
    expect(byBucket('MediaBucketsMedia').map((s) => [actionsOf(s).sort(), JSON.stringify(s.Resource).match(/"(\/[^"]+)"\]\]\}$/)?.[1]])).toEqual([
      [['s3:AbortMultipartUpload', 's3:PutObject'], `/${MEDIA_KEYS}`],
    ]);
  });
});
