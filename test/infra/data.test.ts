import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Metadata, ResourceRole } from '#lib/metadata';
import { onlyResource, resourcesOfType, synthesize, type CfnResourceJson, type Synthesized } from './support.ts';

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize();
});

function bucketByRole(role: string): [string, CfnResourceJson] {
  const found = Object.entries(resourcesOfType(synth.data, 'AWS::S3::Bucket')).find(
    ([, b]) => b.Metadata?.[Metadata.resource] === role,
  );
  if (!found) throw new Error(`no bucket with ${Metadata.resource}=${role}`);
  return found;
}

describe('VideoTable', () => {
  it('keys every item by pk/sk and indexes gsi1pk/gsi1sk as gsi1, all strings', () => {
    const [, table] = onlyResource(synth.data, 'AWS::DynamoDB::GlobalTable');
    expect(table.Properties!.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.Properties!.AttributeDefinitions).toEqual(
      expect.arrayContaining(['pk', 'sk', 'gsi1pk', 'gsi1sk'].map((AttributeName) => ({ AttributeName, AttributeType: 'S' }))),
    );
    expect(table.Properties!.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'gsi1',
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(table.Metadata?.[Metadata.resource]).toBe(ResourceRole.table);
  });

  it('streams new and old images, bills on demand, expires items by expiresAt', () => {
    synth.data.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('keeps point-in-time recovery on, and is retained (deletion protection is prod only: deploys.test.ts)', () => {
    const [, table] = onlyResource(synth.data, 'AWS::DynamoDB::GlobalTable');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties!.Replicas).toEqual([
      expect.objectContaining({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: false,
      }),
    ]);
  });

  it('encrypts with a customer-managed, rotating, retained KMS key', () => {
    const [, table] = onlyResource(synth.data, 'AWS::DynamoDB::GlobalTable');
    expect(table.Properties!.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    const keyId = table.Properties!.Replicas[0].SSESpecification.KMSMasterKeyId['Fn::GetAtt'][0] as string;
    const key = resourcesOfType(synth.data, 'AWS::KMS::Key')[keyId];
    expect(key?.Properties?.EnableKeyRotation).toBe(true);
    expect(key?.DeletionPolicy).toBe('Retain');
  });
});

describe('MediaBuckets', () => {
  it('has raw, media, access-log and CDN-log buckets, all retained', () => {
    const roles = [ResourceRole.rawBucket, ResourceRole.mediaBucket, ResourceRole.accessLogsBucket, ResourceRole.cdnLogsBucket];
    for (const role of roles) {
      const [, bucket] = bucketByRole(role);
      expect(bucket.DeletionPolicy).toBe('Retain');
    }
    expect(Object.keys(resourcesOfType(synth.data, 'AWS::S3::Bucket'))).toHaveLength(roles.length);
  });

  it('blocks every kind of public access, and disables ACLs but where CloudFront logging needs them', () => {
    const [cdnLogsId] = bucketByRole(ResourceRole.cdnLogsBucket);
    for (const [id, bucket] of Object.entries(resourcesOfType(synth.data, 'AWS::S3::Bucket'))) {
      expect(bucket.Properties!.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      // CloudFront standard logging writes each log file with an ACL for its log delivery account.
      const ownership = id === cdnLogsId ? 'BucketOwnerPreferred' : 'BucketOwnerEnforced';
      expect(bucket.Properties!.OwnershipControls, id).toEqual({ Rules: [{ ObjectOwnership: ownership }] });
    }
  });

  it('denies any request without TLS on every bucket and its objects', () => {
    const policies = Object.values(resourcesOfType(synth.data, 'AWS::S3::BucketPolicy'));
    for (const bucketId of Object.keys(resourcesOfType(synth.data, 'AWS::S3::Bucket'))) {
      const policy = policies.find((p) => p.Properties!.Bucket.Ref === bucketId);
      expect(policy, `bucket policy of ${bucketId}`).toBeDefined();
      expect(policy!.Properties!.PolicyDocument.Statement).toContainEqual({
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: [
          { 'Fn::GetAtt': [bucketId, 'Arn'] },
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] },
        ],
      });
    }
  });

  it('encrypts originals and media with rotating customer-managed keys (bucket keys on) and the log buckets with SSE-S3', () => {
    for (const role of [ResourceRole.rawBucket, ResourceRole.mediaBucket]) {
      const [, bucket] = bucketByRole(role);
      const rule = bucket.Properties!.BucketEncryption.ServerSideEncryptionConfiguration[0];
      expect(rule.BucketKeyEnabled, role).toBe(true);
      expect(rule.ServerSideEncryptionByDefault.SSEAlgorithm, role).toBe('aws:kms');
      const keyId = rule.ServerSideEncryptionByDefault.KMSMasterKeyID['Fn::GetAtt'][0] as string;
      expect(resourcesOfType(synth.data, 'AWS::KMS::Key')[keyId]?.Properties?.EnableKeyRotation, role).toBe(true);
    }

    for (const role of [ResourceRole.accessLogsBucket, ResourceRole.cdnLogsBucket]) {
      const [, bucket] = bucketByRole(role);
      expect(bucket.Properties!.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
        { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
      ]);
    }
  });

  it('aborts incomplete multipart uploads after one day on every bucket', () => {
    for (const bucket of Object.values(resourcesOfType(synth.data, 'AWS::S3::Bucket'))) {
      expect(bucket.Properties!.LifecycleConfiguration.Rules).toContainEqual(
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
      );
    }
  });

  it('versions originals and expires their noncurrent versions', () => {
    const [, raw] = bucketByRole(ResourceRole.rawBucket);
    expect(raw.Properties!.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(raw.Properties!.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
    );
  });

  it('lets browsers PUT parts to the raw bucket and read each part ETag', () => {
    const [, raw] = bucketByRole(ResourceRole.rawBucket);
    expect(raw.Properties!.CorsConfiguration.CorsRules).toEqual([
      expect.objectContaining({ AllowedMethods: ['PUT'], AllowedOrigins: ['*'], ExposedHeaders: ['ETag'] }),
    ]);
  });

  it('lets browsers read media cross-origin and PUT poster images to the media bucket', () => {
    const [, media] = bucketByRole(ResourceRole.mediaBucket);
    expect(media.Properties!.CorsConfiguration.CorsRules).toEqual([
      expect.objectContaining({ AllowedMethods: ['GET', 'HEAD'], AllowedOrigins: ['*'] }),
      expect.objectContaining({ AllowedMethods: ['PUT'], AllowedOrigins: ['*'], AllowedHeaders: ['*'] }),
    ]);
  });

  it('logs raw, media and CDN-log access into the access-log bucket, which log delivery may write to', () => {
    const [logsId] = bucketByRole(ResourceRole.accessLogsBucket);
    for (const [role, prefix] of [
      [ResourceRole.rawBucket, 'raw/'],
      [ResourceRole.mediaBucket, 'media/'],
      [ResourceRole.cdnLogsBucket, 'cdn-logs/'],
    ] as const) {
      const [, bucket] = bucketByRole(role);
      expect(bucket.Properties!.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logsId }, LogFilePrefix: prefix });
    }
    synth.data.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' }),
        ]),
      },
    });
  });

  it('lets CloudFront (origin access control) read only videos/* of the media bucket, for this account only', () => {
    const [mediaId] = bucketByRole(ResourceRole.mediaBucket);
    const policy = Object.values(resourcesOfType(synth.data, 'AWS::S3::BucketPolicy')).find((p) => p.Properties!.Bucket.Ref === mediaId)!;
    const cloudFront = (policy.Properties!.PolicyDocument.Statement as Record<string, any>[]).filter((s) =>
      JSON.stringify(s.Principal).includes('cloudfront.amazonaws.com'),
    );
    expect(cloudFront).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [mediaId, 'Arn'] }, '/videos/*/*']] },
        Condition: {
          StringEquals: { 'AWS:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: {
            'AWS:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/*']] },
          },
        },
      },
    ]);
    // No other bucket admits CloudFront.
    for (const other of Object.values(resourcesOfType(synth.data, 'AWS::S3::BucketPolicy')).filter((p) => p !== policy)) {
      expect(JSON.stringify(other.Properties!.PolicyDocument)).not.toContain('cloudfront.amazonaws.com');
    }
  });

  it('takes allowed origins from the allowedOrigins context', () => {
    const custom = synthesize({ allowedOrigins: 'https://app.example.com,https://www.example.com' });
    const raw = Object.values(resourcesOfType(custom.data, 'AWS::S3::Bucket')).find(
      (b) => b.Metadata?.[Metadata.resource] === ResourceRole.rawBucket,
    )!;
    expect(raw.Properties!.CorsConfiguration.CorsRules[0].AllowedOrigins).toEqual([
      'https://app.example.com',
      'https://www.example.com',
    ]);
  });
});

describe('PlaybackSigningKey', () => {
  it('is a retained secret whose value Secrets Manager generates as {"kid":"1","key":<64 letters and digits>}', () => {
    const secrets = Object.values(resourcesOfType(synth.data, 'AWS::SecretsManager::Secret'));
    const playbackKeys = secrets.filter((s) => s.Metadata?.[Metadata.resource] === ResourceRole.playbackKey);
    expect(playbackKeys).toHaveLength(1);
    const secret = playbackKeys[0]!;
    expect(secret.DeletionPolicy).toBe('Retain');
    expect(secret.UpdateReplacePolicy).toBe('Retain');
    expect(secret.Properties!.GenerateSecretString).toEqual({
      SecretStringTemplate: '{"kid":"1"}',
      GenerateStringKey: 'key',
      PasswordLength: 64,
      ExcludePunctuation: true,
      IncludeSpace: false,
    });
    expect(secret.Properties!.SecretString).toBeUndefined();
  });
});

describe('SearchCursorKey', () => {
  it('is a secret whose value Secrets Manager generates as {"key":<64 letters and digits>}, never in the template', () => {
    const keys = Object.entries(resourcesOfType(synth.data, 'AWS::SecretsManager::Secret')).filter(([id]) => id.startsWith('SearchCursorKey'));
    expect(keys).toHaveLength(1);
    const [, secret] = keys[0]!;
    expect(secret.Properties!.GenerateSecretString).toEqual({
      SecretStringTemplate: '{}',
      GenerateStringKey: 'key',
      PasswordLength: 64,
      ExcludePunctuation: true,
      IncludeSpace: false,
    });
    expect(secret.Properties!.SecretString).toBeUndefined();
    // Every secret of the data stack is retained (lib/stages.ts), this one too.
    expect(secret.DeletionPolicy).toBe('Retain');
  });
});
