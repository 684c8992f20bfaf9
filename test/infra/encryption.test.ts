import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Metadata, ResourceRole } from '#lib/metadata';
import { resourcesOfType, synthesize, type CfnResourceJson, type Synthesized } from './support.ts';

/** Every stack of a synthesized app, by stack name. */
function templates(synth: Synthesized): Map<string, Template> {
  const stacks = synth.app.node.children.filter((c): c is Stack => c instanceof Stack);
  return new Map(stacks.map((s) => [s.stackName, Template.fromStack(s)]));
}

/**
 * The customer-managed key a property points at (`Fn::GetAtt [key, Arn]`, `Ref key`, or another
 * stack's output of either), found in whichever stack defines it.
 */
function keyOf(all: Map<string, Template>, value: unknown): CfnResourceJson {
  const text = JSON.stringify(value);
  for (const template of all.values()) {
    for (const [id, key] of Object.entries(resourcesOfType(template, 'AWS::KMS::Key'))) {
      if (text.includes(`"${id}"`) || new RegExp(`FnGetAtt${id}Arn|Ref${id}`).test(text)) return key;
    }
  }
  throw new Error(`no customer-managed key behind ${text}`);
}

/** Buckets that stay SSE-S3, by role, each for a reason given in `MediaBuckets` / `Delivery` and docs/security.md. */
const SSE_S3_BUCKETS = [
  // S3 server access logs: S3 supports only SSE-S3 on a log target bucket.
  ResourceRole.accessLogsBucket,
  // CloudFront standard (legacy) logs: the log delivery account writes without KMS parameters.
  ResourceRole.cdnLogsBucket,
  // The public web app's build: the same bytes every visitor downloads.
  ResourceRole.webAppBucket,
];

const VARIANTS = [
  ['ffmpeg, embedded search', {}],
  ['MediaConvert', { transcoder: 'mediaconvert' }],
  ['OpenSearch', { search: 'opensearch' }],
] as const;

describe.each(VARIANTS)('encryption at rest (%s)', (_, context) => {
  let all: Map<string, Template>;
  beforeAll(() => {
    all = templates(synthesize(context));
  });

  const each = (type: string) => [...all].flatMap(([stack, t]) => Object.entries(resourcesOfType(t, type)).map(([id, r]) => ({ stack, id, r })));

  it('rotates every customer-managed key', () => {
    const keys = each('AWS::KMS::Key');
    expect(keys.length).toBeGreaterThan(0);
    for (const { stack, id, r } of keys) expect(r.Properties!.EnableKeyRotation, `${stack}/${id}`).toBe(true);
  });

  it('encrypts the raw and media buckets with their own rotating keys and S3 Bucket Keys, and only the log and web app buckets with SSE-S3', () => {
    const roles = new Map<string, string>();
    for (const { stack, id, r } of each('AWS::S3::Bucket')) {
      const role = String(r.Metadata?.[Metadata.resource] ?? `${stack}/${id}`);
      const rule = r.Properties!.BucketEncryption.ServerSideEncryptionConfiguration[0];
      const algorithm = rule.ServerSideEncryptionByDefault.SSEAlgorithm as string;
      roles.set(role, algorithm);
      if (algorithm === 'aws:kms') {
        expect(rule.BucketKeyEnabled, role).toBe(true);
        expect(keyOf(all, rule.ServerSideEncryptionByDefault.KMSMasterKeyID).Properties!.EnableKeyRotation, role).toBe(true);
      }
    }
    expect(roles.get(ResourceRole.rawBucket)).toBe('aws:kms');
    expect(roles.get(ResourceRole.mediaBucket)).toBe('aws:kms');
    const sseS3 = [...roles].filter(([, a]) => a !== 'aws:kms').map(([role]) => role);
    expect(sseS3.sort()).toEqual([...SSE_S3_BUCKETS].sort());
    const [raw, media] = [ResourceRole.rawBucket, ResourceRole.mediaBucket].map((role) =>
      each('AWS::S3::Bucket').find(({ r }) => r.Metadata?.[Metadata.resource] === role)!.r.Properties!.BucketEncryption.ServerSideEncryptionConfiguration[0]
        .ServerSideEncryptionByDefault.KMSMasterKeyID,
    );
    expect(JSON.stringify(raw), 'raw and media use different keys').not.toEqual(JSON.stringify(media));
  });

  it('lets CloudFront decrypt media only on behalf of this account’s distributions', () => {
    const [found] = each('AWS::S3::Bucket').filter(({ r }) => r.Metadata?.[Metadata.resource] === ResourceRole.mediaBucket);
    const key = keyOf(all, found!.r.Properties!.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID);
    const cloudFront = (key.Properties!.KeyPolicy.Statement as Record<string, any>[]).filter(
      (s) => JSON.stringify(s.Principal).includes('cloudfront.amazonaws.com'),
    );
    expect(cloudFront).toHaveLength(1);
    expect(cloudFront[0]!.Effect).toBe('Allow');
    expect(cloudFront[0]!.Action).toBe('kms:Decrypt');
    expect(cloudFront[0]!.Condition).toEqual({
      StringEquals: { 'AWS:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'AWS:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/*']] } },
    });
  });

  it('encrypts the table with its rotating customer-managed key', () => {
    const tables = [...each('AWS::DynamoDB::GlobalTable'), ...each('AWS::DynamoDB::Table')];
    expect(tables).toHaveLength(1);
    const table = tables[0]!.r.Properties!;
    expect(table.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    for (const replica of table.Replicas) {
      expect(keyOf(all, replica.SSESpecification.KMSMasterKeyId).Properties!.EnableKeyRotation).toBe(true);
    }
  });

  it('encrypts every queue (event queues, dead letters, indexer failures) with a rotating customer-managed key', () => {
    const queues = each('AWS::SQS::Queue');
    expect(queues.length).toBeGreaterThanOrEqual(3);
    for (const { stack, id, r } of queues) {
      expect(r.Properties!.KmsMasterKeyId, `${stack}/${id}`).toBeDefined();
      expect(keyOf(all, r.Properties!.KmsMasterKeyId).Properties!.EnableKeyRotation, `${stack}/${id}`).toBe(true);
    }
  });

  it('encrypts every topic with a customer-managed key', () => {
    for (const { stack, id, r } of each('AWS::SNS::Topic')) {
      expect(r.Properties!.KmsMasterKeyId, `${stack}/${id}`).toBeDefined();
      expect(keyOf(all, r.Properties!.KmsMasterKeyId).Properties!.EnableKeyRotation, `${stack}/${id}`).toBe(true);
    }
  });

  it('encrypts every log group with a key of its stack that admits only CloudWatch Logs of this account', () => {
    const groups = each('AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThan(20);
    for (const { stack, id, r } of groups) {
      const where = `${stack}/${id}`;
      const ref = r.Properties!.KmsKeyId;
      expect(ref, where).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
      const key = resourcesOfType(all.get(stack)!, 'AWS::KMS::Key')[ref['Fn::GetAtt'][0]]!;
      expect(key.Properties!.EnableKeyRotation, where).toBe(true);
      const logs = (key.Properties!.KeyPolicy.Statement as Record<string, any>[]).filter((s) => JSON.stringify(s.Principal).includes('logs.'));
      expect(logs, where).toHaveLength(1);
      expect(JSON.stringify(logs[0]!.Principal), where).toMatch(/logs\.(\$\{AWS::Region\}|[a-z0-9-]+)\.amazonaws\.com|"logs\.",\{"Ref":"AWS::Region"\}/);
      expect(JSON.stringify(logs[0]!.Condition), where).toContain('kms:EncryptionContext:aws:logs:arn');
    }
  });
});
