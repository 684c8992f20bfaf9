import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MediaLayout, StateNames } from '#contracts/workflow';
import { videoKey } from '#adapters/keys';
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
  let roleId: string;
  let role: CfnResourceJson;
  let grantRoleId: string;
  beforeAll(() => {
    pipeline = templates({}).get('Vodstack-Pipeline')!;
    workers = new Map();
    const functions = Object.values(resourcesOfType(pipeline, 'AWS::Lambda::Function'));
    for (const fn of functions) {
      if (fn.Properties!.Environment?.Variables?.FFMPEG_PATH === undefined) continue;
      workers.set(String(fn.Metadata?.[Metadata.workflowTask]), functionStatements(pipeline, fn));
    }
    const roles = Object.entries(resourcesOfType(pipeline, 'AWS::IAM::Role')).filter(([id]) => id.includes('MediaWorkerRole'));
    expect(roles).toHaveLength(1);
    [roleId, role] = roles[0]!;
    const grant = functions.find((fn) => fn.Metadata?.[Metadata.workflowTask] === StateNames.grant)!;
    grantRoleId = grant.Properties!.Role['Fn::GetAtt'][0] as string;
  });

  /** Statements of the media worker role's policies. */
  const roleStatements = () =>
    Object.values(resourcesOfType(pipeline, 'AWS::IAM::Policy'))
      .filter((p) => (p.Properties!.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap((p) => p.Properties!.PolicyDocument.Statement as Statement[]);
  /** `{Fn::Join: ['', [<bucket arn>, '/key']]}` → `['<bucket arn, as JSON>', '/key']`. */
  const objectArn = (s: Statement): [string, string] => {
    const [, [arn, key]] = (s.Resource as { 'Fn::Join': [string, [unknown, string]] })['Fn::Join'];
    return [JSON.stringify(arn), key];
  };
  const VIDEO = '${aws:PrincipalTag/videoId}';

  it('are exactly the tasks that run ffmpeg or ffprobe (Package only writes manifests, so it is not one)', () => {
    expect([...workers.keys()].sort()).toEqual([StateNames.probe, StateNames.transcodeChunk, StateNames.transcodeAudio, StateNames.thumbnails].sort());
  });

  it('have no data access of their own: only the grant key, to open the grant they are handed, and X-Ray', () => {
    for (const [task, statements] of workers) {
      expect([...new Set(statements.flatMap(actionsOf).map((a) => a.split(':')[0]))].sort(), task).toEqual(['kms', 'xray']);
      const kms = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
      expect(kms.map((s) => [actionsOf(s), JSON.stringify(s.Resource)]), task).toEqual([[['kms:Decrypt'], expect.stringContaining('GrantKey')]]);
    }
  });

  it('work through the media worker role: read only their video\'s raw object, write only under their video\'s prefix', () => {
    const statements = roleStatements();
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3.every((s) => s.Condition === undefined)).toBe(true);
    expect(s3.map((s) => [actionsOf(s).sort(), ...objectArn(s)])).toEqual([
      [['s3:GetObject'], expect.stringContaining('MediaBucketsRaw'), `/uploads/${VIDEO}/source`],
      [['s3:AbortMultipartUpload', 's3:PutObject'], expect.stringContaining('MediaBucketsMedia'), `/videos/${VIDEO}/*`],
    ]);
    // The keys: decrypt the raw bucket's (to read), generate data keys with the media bucket's (to
    // write), and the table's as writing an item takes.
    const kms = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
    expect(kms.map((s) => [actionsOf(s), JSON.stringify(s.Resource)])).toEqual([
      [['kms:Decrypt'], expect.stringContaining('RawKey')],
      [['kms:GenerateDataKey'], expect.stringContaining('MediaKey')],
      [expect.arrayContaining(['kms:Decrypt', 'kms:Encrypt']), expect.stringContaining('TableKey')],
    ]);
    // Chunk progress: UpdateItem on the table itself (no index), only on this video's item.
    const table = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(table.map((s) => [actionsOf(s), s.Condition])).toEqual([
      [['dynamodb:UpdateItem'], { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [`VIDEO#${VIDEO}`] } }],
    ]);
    expect(JSON.stringify(table[0]!.Resource)).not.toContain('/index/');
    expect(videoKey('v_abc123xyz').pk).toBe(`VIDEO#${'v_abc123xyz'}`);
    expect(statements.flatMap(actionsOf).filter((a) => !/^(s3|kms|dynamodb):/.test(a))).toEqual([]);
    expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties!.Policies).toBeUndefined();
    expect(role.Properties!.MaxSessionDuration).toBe(3600);
  });

  it('get that role only through the Grant task, and only as a session tagged with exactly one video', () => {
    expect(role.Properties!.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Principal: { AWS: { 'Fn::GetAtt': [grantRoleId, 'Arn'] } },
        Condition: { StringLike: { 'aws:RequestTag/videoId': '?*' }, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['videoId'] } },
      },
    ]);
    // No other identity in any stack may assume it.
    for (const [name, template] of templates({})) {
      for (const policy of Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))) {
        const assumes = (policy.Properties!.PolicyDocument.Statement as Statement[]).filter((s) => actionsOf(s).some((a) => a.startsWith('sts:')));
        if (assumes.length === 0) continue;
        expect(name).toBe('Vodstack-Pipeline');
        expect(policy.Properties!.Roles, name).toEqual([{ Ref: grantRoleId }]);
        expect(assumes.map((s) => [actionsOf(s), s.Resource])).toEqual([[['sts:AssumeRole', 'sts:TagSession'], { 'Fn::GetAtt': [roleId, 'Arn'] }]]);
      }
    }
  });

  it('get their grants from a Grant task that only assumes the role and seals: no bucket, no table, no ffmpeg', () => {
    const grant = Object.values(resourcesOfType(pipeline, 'AWS::Lambda::Function')).find((fn) => fn.Metadata?.[Metadata.workflowTask] === StateNames.grant)!;
    expect(grant.Properties!.Layers).toBeUndefined();
    const statements = functionStatements(pipeline, grant);
    expect([...new Set(statements.flatMap(actionsOf).map((a) => a.split(':')[0]))].sort()).toEqual(['kms', 'sts', 'xray']);
    const kms = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
    expect(kms.map((s) => [actionsOf(s), JSON.stringify(s.Resource)])).toEqual([[['kms:Encrypt'], expect.stringContaining('GrantKey')]]);
  });

  it('scope the role to the layouts the code reads and writes, one video at a time', () => {
    const forVideo = (pattern: string, id: string) => glob(pattern.slice(1).replace(VIDEO, id));
    const [rawStatement, mediaStatement] = roleStatements().filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    const raw = objectArn(rawStatement!)[1];
    const media = objectArn(mediaStatement!)[1];
    expect(rawKeyFor('v_abc123xyz')).toMatch(forVideo(raw, 'v_abc123xyz'));
    expect(rawKeyFor('v_other0000')).not.toMatch(forVideo(raw, 'v_abc123xyz'));
    for (const key of [MediaLayout.hlsMaster('v_abc123xyz'), MediaLayout.poster('v_abc123xyz'), `${MediaLayout.rendition('v_abc123xyz', '720p')}init.mp4`]) {
      expect(key).toMatch(forVideo(media, 'v_abc123xyz'));
      expect(key).not.toMatch(forVideo(media, 'v_other0000'));
    }
    expect('search/videos.json').not.toMatch(forVideo(media, 'v_abc123xyz'));
  });
});

describe('the Package task', () => {
  it('runs no ffmpeg and works on videos/ of the media bucket with its own role: read, write and list, never delete', () => {
    const pipeline = templates({}).get('Vodstack-Pipeline')!;
    const fn = Object.values(resourcesOfType(pipeline, 'AWS::Lambda::Function')).find((f) => f.Metadata?.[Metadata.workflowTask] === StateNames.package)!;
    expect(fn.Properties!.Environment.Variables.FFMPEG_PATH).toBeUndefined();
    const statements = functionStatements(pipeline, fn);
    const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3.flatMap(actionsOf).sort()).toEqual(['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
    expect(JSON.stringify(s3)).not.toContain('MediaBucketsRaw');
    expect(s3.find((s) => actionsOf(s).includes('s3:ListBucket'))!.Condition).toEqual({ StringLike: { 's3:prefix': [MEDIA_KEYS] } });
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
