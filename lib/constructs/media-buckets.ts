import { Aws, Duration, RemovalPolicy, Validations, type CfnResource } from 'aws-cdk-lib';
import { ServicePrincipal, type Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  HttpMethods,
  type CfnBucket,
  ObjectOwnership,
  type BucketProps,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { MEDIA_KEYS, RAW_KEYS } from '#lib/constructs/app-function';
import { Metadata, ResourceRole } from '#lib/metadata';

/** Props of {@link MediaBuckets}. */
export interface MediaBucketsProps {
  /**
   * Origins allowed to PUT upload parts from a browser (and to read media cross-origin).
   * @default ['*']
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Key that encrypts the raw (original upload) bucket.
   * @default - a new customer-managed key with yearly rotation, retained with the bucket
   */
  readonly rawEncryptionKey?: IKey;
  /**
   * Key that encrypts the media (derived renditions) bucket.
   * @default - a new customer-managed key with yearly rotation, retained with the bucket, whose
   * policy lets CloudFront (origin access control) decrypt for this account's distributions
   */
  readonly mediaEncryptionKey?: IKey;
  /**
   * How long noncurrent versions of originals are kept after an overwrite or delete.
   * @default Duration.days(30)
   */
  readonly rawNoncurrentVersionExpiration?: Duration;
  /**
   * How long S3 server access logs and CloudFront standard logs are kept.
   * @default Duration.days(365)
   */
  readonly accessLogsExpiration?: Duration;
  /**
   * What happens to the buckets (and a key made here) when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The platform's buckets:
 * - `raw`: originals as creators upload them (browser multipart PUTs on presigned URLs), SSE-KMS
 *   with a customer-managed key and S3 Bucket Keys, versioned (originals cannot be regenerated);
 *   sends its events to EventBridge (the pipeline starts on `Object Created`).
 * - `media`: what the pipeline derives (renditions, manifests, thumbnails), served through
 *   CloudFront. SSE-KMS with its own customer-managed key and S3 Bucket Keys (S3 asks KMS for a
 *   bucket-level key now and then, not once per object, so cache misses cost no KMS call each),
 *   unversioned: it can be rebuilt from `raw`. Origin access control reads SSE-KMS objects when
 *   the key policy lets `cloudfront.amazonaws.com` decrypt; like the bucket policy, that statement
 *   names this account's distributions by pattern (naming the one distribution would make the
 *   data stack depend on the api stack, a cycle) — see {@link MediaBuckets.media}.
 * - `accessLogs`: S3 server access logs of all the others. SSE-S3: S3 documents SSE-S3 as the
 *   only default encryption a server access log target supports.
 * - `cdnLogs`: CloudFront standard logs. SSE-S3: the legacy log delivery writes without KMS
 *   parameters as the `awslogsdelivery` account, and a key it cannot use loses logs silently. The
 *   only bucket with ACLs enabled (bucket owner preferred): standard logging writes each file with
 *   an ACL granting CloudFront's log delivery.
 * All block public access, deny non-TLS requests, and abort incomplete multipart uploads after a day.
 */
export class MediaBuckets extends Construct {
  /** Original uploads (construct id `Raw`; never renamed). */
  public readonly raw: Bucket;
  /**
   * Derived media served by the CDN (construct id `Media`; never renamed).
   *
   * CloudFront reads it through origin access control, which needs a bucket-policy statement for
   * the `cloudfront.amazonaws.com` principal. CDK's OAC origin would write one naming the
   * distribution's ARN, but the distribution lives in the api stack, which depends on this one:
   * the policy would reference it back (a cycle). So the grant is made here, for any distribution
   * of this account (`AWS:SourceArn` `distribution/*` and `AWS:SourceAccount`), on `videos/*` and
   * GetObject only, and the origin is built on an imported bucket that does not touch the policy.
   */
  public readonly media: Bucket;
  /** Server access logs of the other buckets (construct id `AccessLogs`; never renamed). */
  public readonly accessLogs: Bucket;
  /** CloudFront standard logs (construct id `CdnLogs`; never renamed). */
  public readonly cdnLogs: Bucket;
  /** The key `raw` is encrypted with. */
  public readonly rawEncryptionKey: IKey;
  /** The key `media` is encrypted with. */
  public readonly mediaEncryptionKey: IKey;

  constructor(scope: Construct, id: string, props: MediaBucketsProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const allowedOrigins = [...(props.allowedOrigins ?? ['*'])];
    const common: BucketProps = {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
    };

    this.accessLogs = new Bucket(this, 'AccessLogs', {
      ...common,
      encryption: BucketEncryption.S3_MANAGED,
      lifecycleRules: [
        { id: 'expire-logs', expiration: props.accessLogsExpiration ?? Duration.days(365) },
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log target of the raw and media buckets; logging it into itself would log its own log deliveries.',
    });

    this.rawEncryptionKey =
      props.rawEncryptionKey ??
      new Key(this, 'RawKey', {
        description: 'Encrypts original video uploads in the vodstack raw bucket',
        enableKeyRotation: true,
        removalPolicy,
      });

    this.raw = new Bucket(this, 'Raw', {
      ...common,
      encryption: BucketEncryption.KMS,
      encryptionKey: this.rawEncryptionKey,
      bucketKeyEnabled: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'raw/',
      cors: [
        {
          // Browsers PUT parts straight to S3 and must read each part's ETag to complete the upload.
          allowedMethods: [HttpMethods.PUT],
          allowedOrigins,
          allowedHeaders: ['*'],
          exposedHeaders: ['ETag'],
          maxAge: 3600,
        },
      ],
      lifecycleRules: [
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: props.rawNoncurrentVersionExpiration ?? Duration.days(30),
        },
      ],
    });

    this.mediaEncryptionKey = props.mediaEncryptionKey ?? this.createMediaKey(removalPolicy);
    // Switching an existing bucket from SSE-S3 is an in-place update: objects already stored keep
    // SSE-S3 (CloudFront reads them without KMS), new ones are written with this key.
    this.media = new Bucket(this, 'Media', {
      ...common,
      encryption: BucketEncryption.KMS,
      encryptionKey: this.mediaEncryptionKey,
      bucketKeyEnabled: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'media/',
      cors: [
        {
          // Players fetch manifests and segments cross-origin (hls.js / dash.js use XHR/fetch).
          allowedMethods: [HttpMethods.GET, HttpMethods.HEAD],
          allowedOrigins,
          allowedHeaders: ['*'],
          exposedHeaders: ['ETag', 'Content-Length', 'Content-Range'],
          maxAge: 3600,
        },
        {
          // Creators PUT poster images straight from the browser (presigned, `thumbs/custom-*`).
          allowedMethods: [HttpMethods.PUT],
          allowedOrigins,
          allowedHeaders: ['*'],
          exposedHeaders: ['ETag'],
          maxAge: 3600,
        },
      ],
      lifecycleRules: [{ id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    this.media.grants.actionsOnObjectKeys(cloudFrontOfThisAccount(), MEDIA_KEYS, 's3:GetObject');

    this.cdnLogs = new Bucket(this, 'CdnLogs', {
      ...common,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'cdn-logs/',
      lifecycleRules: [
        { id: 'expire-logs', expiration: props.accessLogsExpiration ?? Duration.days(365) },
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });

    // Object Created events go to EventBridge (the pipeline's trigger). Set on the bucket itself,
    // an in-place update: the L2 `eventBridgeEnabled` prop would add a custom resource and its
    // Lambda just to call PutBucketNotificationConfiguration. Do not also add S3 event
    // notifications with `addEventNotification`: that custom resource replaces this configuration.
    (this.raw.node.defaultChild as CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };

    for (const [bucket, role] of [
      [this.raw, ResourceRole.rawBucket],
      [this.media, ResourceRole.mediaBucket],
      [this.accessLogs, ResourceRole.accessLogsBucket],
      [this.cdnLogs, ResourceRole.cdnLogsBucket],
    ] as const) {
      (bucket.node.defaultChild as CfnResource).addMetadata(Metadata.resource, role);
    }
  }

  /** Grants reading originals (GetObject/HeadObject under {@link RAW_KEYS}, and the key to decrypt). */
  public grantReadRaw(grantee: IGrantable): Grant {
    return this.raw.grants.actionsOnObjectKeys(grantee, RAW_KEYS, 's3:GetObject', 'kms:Decrypt');
  }

  /**
   * Grants writing derived media: PutObject and multipart uploads, with `kms:GenerateDataKey` for
   * each object's data key and `kms:Decrypt`, which S3 needs for the parts of a multipart upload.
   */
  public grantWriteMedia(grantee: IGrantable, keyPattern = MEDIA_KEYS): Grant {
    return this.media.grants.actionsOnObjectKeys(grantee, keyPattern, 's3:PutObject', 's3:AbortMultipartUpload', 'kms:GenerateDataKey', 'kms:Decrypt');
  }

  /** Grants reading derived media (and the key to decrypt). */
  public grantReadMedia(grantee: IGrantable, keyPattern = MEDIA_KEYS): Grant {
    return this.media.grants.actionsOnObjectKeys(grantee, keyPattern, 's3:GetObject', 'kms:Decrypt');
  }

  private createMediaKey(removalPolicy: RemovalPolicy): Key {
    const key = new Key(this, 'MediaKey', {
      description: 'Encrypts derived media (renditions, manifests, thumbnails) in the vodstack media bucket',
      enableKeyRotation: true,
      removalPolicy,
    });
    // Origin access control fetches as cloudfront.amazonaws.com; S3 then needs the key on its behalf.
    key.grantDecrypt(cloudFrontOfThisAccount());
    return key;
  }
}

/**
 * CloudFront, on behalf of this account's distributions only. Account-wide rather than one
 * distribution: the distribution lives in the api stack, which depends on this one.
 */
function cloudFrontOfThisAccount() {
  return new ServicePrincipal('cloudfront.amazonaws.com').withConditions({
    StringEquals: { 'AWS:SourceAccount': Aws.ACCOUNT_ID },
    ArnLike: { 'AWS:SourceArn': `arn:${Aws.PARTITION}:cloudfront::${Aws.ACCOUNT_ID}:distribution/*` },
  });
}
