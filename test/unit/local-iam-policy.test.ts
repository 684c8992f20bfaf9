import { describe, expect, it } from 'vitest';
import { allows, nameRoles, policyOfRole, trustOfRole, type PolicyStatement } from '../../local/iam-policy.ts';
import { bucketsOf } from '../../local/provision.ts';
import { TemplateResolver, type PhysicalIds, type SynthesizedStack } from '../../local/template.ts';

const RAW = 'arn:aws:s3:::raw';
const MEDIA = 'arn:aws:s3:::media';
const tagged = (videoId: string) => ({ 'aws:PrincipalTag/videoId': videoId });

/** The media worker's statements, as the pipeline scopes them to a session's video. */
const worker: PolicyStatement[] = [
  { Effect: 'Allow', Action: 's3:GetObject', Resource: `${RAW}/uploads/\${aws:PrincipalTag/videoId}/*` },
  {
    Effect: 'Allow',
    Action: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
    Resource: `${MEDIA}/videos/\${aws:PrincipalTag/videoId}/*`,
  },
  {
    Effect: 'Allow',
    Action: 's3:ListBucket',
    Resource: MEDIA,
    Condition: { StringLike: { 's3:prefix': ['videos/${aws:PrincipalTag/videoId}/*'] } },
  },
];

describe('allows', () => {
  it("allows a session's own video and denies another's, by the principal tag in the resource", () => {
    expect(allows(worker, { action: 's3:GetObject', resource: `${RAW}/uploads/A/source` }, tagged('A'))).toBe(true);
    expect(allows(worker, { action: 's3:GetObject', resource: `${RAW}/uploads/B/source` }, tagged('A'))).toBe(false);
    expect(allows(worker, { action: 's3:PutObject', resource: `${MEDIA}/videos/A/720p/seg1.m4s` }, tagged('A'))).toBe(true);
    expect(allows(worker, { action: 's3:PutObject', resource: `${RAW}/uploads/A/source` }, tagged('A'))).toBe(false);
  });

  it('denies every variable-scoped resource when the session has no such tag', () => {
    expect(allows(worker, { action: 's3:GetObject', resource: `${RAW}/uploads//source` }, {})).toBe(false);
    expect(allows(worker, { action: 's3:GetObject', resource: `${RAW}/uploads/A/source` }, {})).toBe(false);
  });

  it('matches a tag value literally: wildcard characters in it widen nothing', () => {
    const statements: PolicyStatement[] = [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `${RAW}/\${aws:PrincipalTag/p}/x` }];
    expect(allows(statements, { action: 's3:GetObject', resource: `${RAW}/B/x` }, { 'aws:PrincipalTag/p': '*' })).toBe(false);
    expect(allows(statements, { action: 's3:GetObject', resource: `${RAW}/*/x` }, { 'aws:PrincipalTag/p': '*' })).toBe(true);
  });

  it('uses the default of a variable the session lacks, and reads variable names case-insensitively', () => {
    const statements: PolicyStatement[] = [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `${RAW}/\${aws:PrincipalTag/team, 'shared'}/*` }];
    expect(allows(statements, { action: 's3:GetObject', resource: `${RAW}/shared/a` })).toBe(true);
    expect(allows(statements, { action: 's3:GetObject', resource: `${RAW}/blue/a` }, { 'aws:principaltag/TEAM': 'blue' })).toBe(true);
    expect(allows(statements, { action: 's3:GetObject', resource: `${RAW}/shared/a` }, { 'aws:PrincipalTag/team': 'blue' })).toBe(false);
  });

  it('matches actions case-insensitively with * and ?, resources case-sensitively', () => {
    const statements: PolicyStatement[] = [
      { Effect: 'Allow', Action: ['s3:Get*', 's3:List?ucket'], Resource: [`${RAW}/Uploads/*`, RAW] },
    ];
    expect(allows(statements, { action: 'S3:GETOBJECTTAGGING', resource: `${RAW}/Uploads/a` })).toBe(true);
    expect(allows(statements, { action: 's3:ListBucket', resource: RAW })).toBe(true);
    expect(allows(statements, { action: 's3:ListBuckets', resource: RAW })).toBe(false);
    expect(allows(statements, { action: 's3:GetObject', resource: `${RAW}/uploads/a` })).toBe(false);
    expect(allows(statements, { action: 's3:PutObject', resource: `${RAW}/Uploads/a` })).toBe(false);
  });

  it('lets * in a resource span slashes, and ? stand for exactly one character', () => {
    const statements: PolicyStatement[] = [{ Effect: 'Allow', Action: '*', Resource: [`${RAW}/a/*`, `${RAW}/b?`] }];
    expect(allows(statements, { action: 's3:GetObject', resource: `${RAW}/a/deep/er/key` })).toBe(true);
    expect(allows(statements, { action: 's3:GetObject', resource: `${RAW}/b1` })).toBe(true);
    expect(allows(statements, { action: 's3:GetObject', resource: `${RAW}/b` })).toBe(false);
    expect(allows(statements, { action: 's3:GetObject', resource: `${RAW}/b12` })).toBe(false);
  });

  it('denies what nothing allows, and lets an explicit Deny win over any Allow', () => {
    const statements: PolicyStatement[] = [
      { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      { Effect: 'Deny', Action: 's3:DeleteObject', Resource: `${MEDIA}/videos/\${aws:PrincipalTag/videoId}/*` },
    ];
    expect(allows([], { action: 's3:GetObject', resource: `${RAW}/a` })).toBe(false);
    expect(allows(statements, { action: 's3:DeleteObject', resource: `${MEDIA}/videos/A/x` }, tagged('A'))).toBe(false);
    expect(allows(statements, { action: 's3:DeleteObject', resource: `${MEDIA}/videos/B/x` }, tagged('A'))).toBe(true);
    expect(allows(statements, { action: 's3:GetObject', resource: `${MEDIA}/videos/A/x` }, tagged('A'))).toBe(true);
  });

  it('applies NotAction as every action but those listed', () => {
    const statements: PolicyStatement[] = [{ Effect: 'Allow', NotAction: 's3:Delete*', Resource: '*' }];
    expect(allows(statements, { action: 's3:GetObject', resource: `${RAW}/a` })).toBe(true);
    expect(allows(statements, { action: 's3:DeleteObject', resource: `${RAW}/a` })).toBe(false);
  });

  describe('conditions', () => {
    const list = (prefix: string | undefined, videoId = 'A') =>
      allows(worker, { action: 's3:ListBucket', resource: MEDIA, context: prefix === undefined ? {} : { 's3:prefix': prefix } }, tagged(videoId));

    it("StringLike on s3:prefix lists the session's own prefix only", () => {
      expect(list('videos/A/')).toBe(true);
      expect(list('videos/A/720p/')).toBe(true);
      expect(list('videos/B/')).toBe(false);
      expect(list('')).toBe(false);
      expect(list(undefined)).toBe(false);
    });

    const only = (Condition: PolicyStatement['Condition']): PolicyStatement[] => [{ Effect: 'Allow', Action: '*', Resource: '*', Condition }];
    const request = (context: Record<string, string | string[]>) => ({ action: 's3:GetObject', resource: `${RAW}/a`, context });

    it('StringEquals compares exactly, with keys case-insensitive and any listed value matching', () => {
      const statements = only({ StringEquals: { 'S3:Prefix': ['a', 'b'] } });
      expect(allows(statements, request({ 's3:prefix': 'b' }))).toBe(true);
      expect(allows(statements, request({ 's3:prefix': 'B' }))).toBe(false);
      expect(allows(statements, request({}))).toBe(false);
    });

    it('StringEquals reads principal tags as condition keys', () => {
      const statements = only({ StringEquals: { 'aws:PrincipalTag/videoId': 'A' } });
      expect(allows(statements, request({}), tagged('A'))).toBe(true);
      expect(allows(statements, request({}), tagged('B'))).toBe(false);
    });

    it('StringNotEquals holds for other values and for a missing key', () => {
      const statements = only({ StringNotEquals: { 's3:prefix': 'secret/' } });
      expect(allows(statements, request({ 's3:prefix': 'public/' }))).toBe(true);
      expect(allows(statements, request({}))).toBe(true);
      expect(allows(statements, request({ 's3:prefix': 'secret/' }))).toBe(false);
    });

    it('StringNotEquals against a missing variable grants nothing (fails closed)', () => {
      const statements = only({ StringNotEquals: { 's3:prefix': '${aws:PrincipalTag/videoId}' } });
      expect(allows(statements, request({ 's3:prefix': 'x' }))).toBe(false);
      expect(allows(statements, request({ 's3:prefix': 'x' }), tagged('A'))).toBe(true);
    });

    it('Null tests whether a key is present', () => {
      expect(allows(only({ Null: { 'aws:PrincipalTag/videoId': 'false' } }), request({}), tagged('A'))).toBe(true);
      expect(allows(only({ Null: { 'aws:PrincipalTag/videoId': 'false' } }), request({}))).toBe(false);
      expect(allows(only({ Null: { 'aws:PrincipalTag/videoId': 'true' } }), request({}))).toBe(true);
    });

    it('ForAllValues and ForAnyValue compare every value of a multi-valued key', () => {
      const all = only({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['videoId', 'owner'] } });
      const any = only({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['videoId'] } });
      expect(allows(all, request({ 'aws:TagKeys': ['videoId', 'owner'] }))).toBe(true);
      expect(allows(all, request({ 'aws:TagKeys': ['videoId', 'admin'] }))).toBe(false);
      expect(allows(all, request({}))).toBe(true);
      expect(allows(any, request({ 'aws:TagKeys': ['admin', 'videoId'] }))).toBe(true);
      expect(allows(any, request({ 'aws:TagKeys': ['admin'] }))).toBe(false);
      expect(allows(any, request({}))).toBe(false);
    });

    it('requires every operator and every key of a condition to hold', () => {
      const statements = only({ StringEquals: { 's3:prefix': 'a/' }, StringLike: { 's3:delimiter': '/' } });
      expect(allows(statements, request({ 's3:prefix': 'a/', 's3:delimiter': '/' }))).toBe(true);
      expect(allows(statements, request({ 's3:prefix': 'a/' }))).toBe(false);
    });

    it('fails closed on an operator it does not know: the Allow grants nothing, the Deny denies', () => {
      expect(allows(only({ StringEqualsIgnoreCase: { 's3:prefix': 'a' } }), request({ 's3:prefix': 'a' }))).toBe(false);
      expect(allows(only({ Bool: { 'aws:SecureTransport': 'true' } }), request({}))).toBe(false);
      const denied: PolicyStatement[] = [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        { Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateGreaterThan: { 'aws:CurrentTime': '2100-01-01T00:00:00Z' } } },
      ];
      expect(allows(denied, request({}))).toBe(false);
    });

    it('fails closed on NotResource, which our policies do not use', () => {
      expect(allows([{ Effect: 'Allow', Action: '*', NotResource: `${RAW}/private/*` }], request({}))).toBe(false);
      const denied: PolicyStatement[] = [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        { Effect: 'Deny', Action: 's3:GetObject', NotResource: `${RAW}/public/*` },
      ];
      expect(allows(denied, request({}))).toBe(false);
      expect(allows(denied, { action: 's3:PutObject', resource: `${RAW}/a` })).toBe(true);
    });

    it("takes the principal's tags over a same-named key of the request", () => {
      const spoofed = { action: 's3:GetObject', resource: `${RAW}/uploads/B/source`, context: { 'aws:PrincipalTag/videoId': 'B' } };
      expect(allows(worker, spoofed, tagged('A'))).toBe(false);
    });
  });
});

describe('policyOfRole', () => {
  /** A role, its default policy and a policy of another role, two buckets and a KMS key. */
  const stacks: SynthesizedStack[] = [
    {
      name: 'Data',
      template: {
        Resources: {
          Raw: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'raw' } },
          Media: { Type: 'AWS::S3::Bucket' },
          Key: { Type: 'AWS::KMS::Key' },
        },
        Outputs: { MediaArn: { Value: { 'Fn::GetAtt': ['Media', 'Arn'] }, Export: { Name: 'MediaArn' } } },
      },
    },
    {
      name: 'Pipeline',
      template: {
        Resources: {
          WorkerRole: {
            Type: 'AWS::IAM::Role',
            Properties: {
              AssumeRolePolicyDocument: {
                Statement: [
                  {
                    Effect: 'Allow',
                    Action: ['sts:AssumeRole', 'sts:TagSession'],
                    Principal: { AWS: { 'Fn::GetAtt': ['GrantRole', 'Arn'] } },
                    Condition: { StringLike: { 'aws:RequestTag/videoId': '?*' }, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['videoId'] } },
                  },
                  { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } },
                ],
              },
              Policies: [{ PolicyName: 'inline', PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }] } }],
            },
          },
          OtherRole: { Type: 'AWS::IAM::Role', Properties: { RoleName: 'other', Path: '/service/' } },
          GrantRole: { Type: 'AWS::IAM::Role' },
          // Logical ids past IAM's 64 characters keep their end (CDK's hash) in the role name.
          AVeryLongConstructPathThatCdkTurnsIntoALogicalIdRoleAB12CD34: { Type: 'AWS::IAM::Role' },
          WorkerPolicy: {
            Type: 'AWS::IAM::Policy',
            Properties: {
              Roles: [{ Ref: 'WorkerRole' }],
              PolicyDocument: {
                Statement: [
                  {
                    Effect: 'Allow',
                    Action: 's3:GetObject',
                    Resource: { 'Fn::Join': ['', [{ 'Fn::GetStackOutput': { StackName: 'Data', OutputName: 'MediaArn' } }, '/videos/${aws:PrincipalTag/videoId}/*']] },
                  },
                  { Effect: 'Allow', Action: 'kms:Decrypt', Resource: [{ 'Fn::GetAtt': ['Key', 'Arn'] }, { 'Fn::ImportValue': 'MediaArn' }] },
                  {
                    Effect: 'Allow',
                    Action: 's3:ListBucket',
                    Resource: { 'Fn::ImportValue': 'MediaArn' },
                    Condition: { StringLike: { 's3:prefix': ['videos/${aws:PrincipalTag/videoId}/*', { 'Fn::GetAtt': ['Key', 'Arn'] }] } },
                  },
                ],
              },
            },
          },
          OtherPolicy: {
            Type: 'AWS::IAM::Policy',
            Properties: { Roles: [{ Ref: 'OtherRole' }], PolicyDocument: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } },
          },
        },
      },
    },
  ];
  const physical: PhysicalIds = new Map();
  bucketsOf(stacks, physical);
  nameRoles(stacks, physical);
  const resolver = new TemplateResolver(stacks, physical);
  const workerArn = 'arn:aws:iam::000000000000:role/Pipeline-WorkerRole';

  it('names roles as CloudFormation does and gives them IAM ARNs: global, account-scoped, with their path', () => {
    expect(resolver.resolve('Pipeline', { 'Fn::GetAtt': ['WorkerRole', 'Arn'] })).toBe(workerArn);
    expect(resolver.resolve('Pipeline', { 'Fn::GetAtt': ['OtherRole', 'Arn'] })).toBe('arn:aws:iam::000000000000:role/service/other');
    const long = resolver.resolve('Pipeline', { Ref: 'AVeryLongConstructPathThatCdkTurnsIntoALogicalIdRoleAB12CD34' });
    expect(long).toHaveLength(64);
    expect(long).toMatch(/^Pipeline-AVeryLong.*-AB12CD34$/);
  });

  it("keeps the trust policy's statements for AWS principals, with their conditions on the request", () => {
    const trust = trustOfRole(stacks, resolver, workerArn)!;
    expect(trust).toHaveLength(1);
    const assume = (action: string, tags: Record<string, string>) =>
      allows(trust, {
        action,
        resource: workerArn,
        context: { ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])), 'aws:TagKeys': Object.keys(tags) },
      });
    expect(assume('sts:AssumeRole', { videoId: 'A' })).toBe(true);
    expect(assume('sts:TagSession', { videoId: 'A' })).toBe(true);
    expect(assume('sts:AssumeRole', { videoId: '' })).toBe(false);
    expect(assume('sts:AssumeRole', { videoId: 'A', admin: 'yes' })).toBe(false);
    expect(allows(trust, { action: 'sts:AssumeRole', resource: workerArn })).toBe(false);
    expect(trustOfRole(stacks, resolver, 'arn:aws:iam::000000000000:role/Pipeline-GrantRole')).toEqual([]);
  });

  it("collects the role's inline and attached statements only, with resources resolved and the variables kept", () => {
    const statements = policyOfRole(stacks, resolver, workerArn)!;
    expect(statements).toEqual([
      { Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: ['*'] },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: ['arn:aws:s3:::vodstack-media/videos/${aws:PrincipalTag/videoId}/*'] },
      // The KMS key is not a local resource here: dropped, not widened.
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: ['arn:aws:s3:::vodstack-media'] },
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: ['arn:aws:s3:::vodstack-media'],
        Condition: { StringLike: { 's3:prefix': ['videos/${aws:PrincipalTag/videoId}/*'] } },
      },
    ]);
    expect(allows(statements, { action: 's3:GetObject', resource: 'arn:aws:s3:::vodstack-media/videos/A/x' }, tagged('A'))).toBe(true);
    expect(allows(statements, { action: 's3:GetObject', resource: 'arn:aws:s3:::vodstack-media/videos/B/x' }, tagged('A'))).toBe(false);
  });

  it('is undefined for an ARN no role of the templates has', () => {
    expect(policyOfRole(stacks, resolver, 'arn:aws:iam::000000000000:role/nobody')).toBeUndefined();
  });
});
