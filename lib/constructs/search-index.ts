import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EbsDeviceVolumeType } from 'aws-cdk-lib/aws-ec2';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Domain, EngineVersion, TLSSecurityPolicy } from 'aws-cdk-lib/aws-opensearchservice';
import { BucketGrants, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Env, OPENSEARCH_INDEX, type SearchBackend } from '#contracts/env';
import { AppFunction } from '#lib/constructs/app-function';
import { acknowledgeResource } from '#lib/nag';

/** The module of the indexer function (local mode finds it by this, as by its event source). */
export const INDEXER_MODULE = 'events/index-videos';

/**
 * Where the embedded index keeps its snapshot in the media bucket. Outside `videos/`, so the CDN
 * (which serves only `/v/{id}/…` → `videos/{id}/…`) can never hand it out.
 */
export const SEARCH_SNAPSHOT_KEY = 'search/videos.json';

/** How a function uses the search index. */
export type SearchIndexAccess = 'read' | 'readWrite';

/** Props of {@link SearchIndex}. */
export interface SearchIndexProps {
  /** The single table; its stream (new and old images) feeds the index. */
  readonly table: ITableV2;
  /**
   * The bucket of the embedded backend's snapshot (kept at {@link SEARCH_SNAPSHOT_KEY}).
   * Only read and written under that one key.
   */
  readonly snapshotBucket: IBucket;
  /**
   * Which engine serves search.
   * @default 'embedded'
   */
  readonly backend?: SearchBackend;
  /**
   * Stream records per indexer invocation.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * OpenSearch data nodes (an even number: spread over two zones).
   * @default 2
   */
  readonly openSearchDataNodes?: number;
  /**
   * OpenSearch data node instance type.
   * @default 't3.small.search'
   */
  readonly openSearchInstanceType?: string;
  /**
   * How long function logs are kept.
   * @default - `AppFunction`'s default
   */
  readonly logRetention?: RetentionDays;
  /**
   * Key that encrypts the indexer's log group.
   * @default - CloudWatch Logs' own encryption at rest
   */
  readonly logEncryptionKey?: IKey;
}

/**
 * The search index and what feeds it: the table's stream → an event source mapping (video items
 * only, batches, bisect on error, bounded retries, failures reported per record, spent ones to an
 * encrypted SQS queue) → the indexer function → the index, which is either
 * - `embedded`: MiniSearch in the functions, its snapshot one object in the snapshot bucket
 *   (conditional writes keep writers from overwriting each other), or
 * - `opensearch`: an Amazon OpenSearch Service domain (encrypted at rest, node-to-node TLS,
 *   HTTPS only, two zones; access by IAM-signed requests only).
 * Functions that search are bound with {@link SearchIndex.bind}, which grants and sets the env.
 */
export class SearchIndex extends Construct {
  public readonly backend: SearchBackend;
  /** Applies table changes to the index. */
  public readonly indexer: AppFunction;
  /** Stream batches the indexer could not apply after its retries (construct id `Failures`). */
  public readonly failures: Queue;
  /** The OpenSearch domain (construct id `Domain`); only with the `opensearch` backend. */
  public readonly domain?: Domain;
  private readonly snapshotBucket: IBucket;

  constructor(scope: Construct, id: string, props: SearchIndexProps) {
    super(scope, id);
    this.backend = props.backend ?? 'embedded';
    this.snapshotBucket = props.snapshotBucket;

    this.indexer = new AppFunction(this, 'Indexer', {
      module: INDEXER_MODULE,
      description: 'Table stream → search index',
      memorySize: 1024,
      timeout: Duration.minutes(1),
      // The embedded index is a single snapshot object: writers are serialised anyway (a
      // concurrent save loses its If-Match and reloads), so one instance avoids wasted retries.
      // Stream order per item holds either way; OpenSearch takes concurrent bulk writes.
      ...(this.backend === 'embedded' ? { reservedConcurrentExecutions: 1 } : {}),
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
    });

    if (this.backend === 'opensearch') {
      this.domain = this.createDomain(props);
    }
    this.bind(this.indexer, 'readWrite');

    const key = new Key(this, 'FailuresKey', {
      description: 'Encrypts the vodstack search indexer failure queue',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.failures = new Queue(this, 'Failures', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.indexer.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: props.batchSize ?? 100,
        // A change should be searchable within seconds: no batching window.
        maxBatchingWindow: Duration.seconds(0),
        bisectBatchOnError: true,
        retryAttempts: 5,
        maxRecordAge: Duration.hours(1),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.failures),
        // Video items only (not co-views, view dedupe or rate-limit rows).
        filters: [FilterCriteria.filter({ dynamodb: { Keys: { sk: { S: FilterRule.isEqual('VIDEO') } } } })],
      }),
    );

    Validations.of(this.indexer).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'The indexer is invoked synchronously by its stream event source mapping, whose on-failure destination (the Failures queue) receives what it could not apply.',
    });
    for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
      Validations.of(this.indexer).acknowledge({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: `${action} is what sending to the KMS-encrypted failure queue needs (Queue.grantSendMessages via the on-failure destination); the resource is that queue's own key.`,
      });
    }
    Validations.of(this.failures).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'This queue is the on-failure destination of the indexer stream mapping; a dead letter queue of its own would only move records that already failed.',
    });
    Validations.of(this.failures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the failure destination (it holds stream batch descriptions for a reindex or a redrive); it has no dead letter queue of its own.',
    });
  }

  /**
   * Grants a function `access` to the index and sets the env its composition root reads:
   * `Env.searchBackend`, and the snapshot's bucket and key or the domain's endpoint.
   */
  public bind(fn: AppFunction, access: SearchIndexAccess): void {
    fn.setEnv(Env.searchBackend, this.backend);
    if (this.domain) {
      fn.setEnv(Env.openSearchEndpoint, `https://${this.domain.domainEndpoint}`);
      if (access === 'read') {
        this.domain.grantIndexRead(OPENSEARCH_INDEX, fn);
      } else {
        this.domain.grantIndexReadWrite(OPENSEARCH_INDEX, fn);
        // Bulk writes go to the domain's /_bulk path.
        this.domain.grantPathReadWrite('_bulk', fn);
      }
      acknowledgeResource(
        fn,
        'AwsSolutions-IAM5',
        `${this.domain.domainArn}/${OPENSEARCH_INDEX}/*`,
        'Documents of the one videos index (ids created at run time); access stays within that index.',
      );
      return;
    }
    fn.setEnv(Env.searchSnapshotBucket, this.snapshotBucket.bucketName).setEnv(Env.searchSnapshotKey, SEARCH_SNAPSHOT_KEY);
    // The bucket may be SSE-KMS (the media bucket is): reading decrypts, writing needs a data key.
    const actions = access === 'read' ? ['s3:GetObject', 'kms:Decrypt'] : ['s3:GetObject', 'kms:Decrypt', 's3:PutObject', 'kms:GenerateDataKey'];
    BucketGrants.fromBucket(this.snapshotBucket).actionsOnObjectKeys(fn, SEARCH_SNAPSHOT_KEY, ...actions);
  }

  private createDomain(props: SearchIndexProps): Domain {
    const dataNodes = props.openSearchDataNodes ?? 2;
    const domain = new Domain(this, 'Domain', {
      version: EngineVersion.OPENSEARCH_2_19,
      capacity: {
        dataNodes,
        dataNodeInstanceType: props.openSearchInstanceType ?? 't3.small.search',
        multiAzWithStandbyEnabled: false,
      },
      zoneAwareness: { enabled: true, availabilityZoneCount: 2 },
      ebs: { volumeSize: 10, volumeType: EbsDeviceVolumeType.GP3 },
      encryptionAtRest: { enabled: true },
      nodeToNodeEncryption: true,
      enforceHttps: true,
      tlsSecurityPolicy: TLSSecurityPolicy.TLS_1_2,
      // The index is rebuilt from the table (`npm run search:reindex`), so the domain is not retained.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(domain).acknowledge(
      {
        id: 'AwsSolutions-OS1',
        reason: 'Public endpoint by design: every request must be SigV4-signed by an IAM principal granted here (no access policy admits anyone else); the functions run outside a VPC.',
      },
      {
        id: 'AwsSolutions-OS3',
        reason: 'Access is by IAM identity (SigV4), not by source IP: Lambda functions have no fixed addresses.',
      },
      {
        id: 'AwsSolutions-OS4',
        reason: 'A small domain of two data nodes; dedicated master nodes would triple its cost. Add them (capacity.masterNodes) for a larger cluster.',
      },
      {
        id: 'AwsSolutions-OS5',
        reason: 'The domain has no resource-based access policy, so no anonymous access is possible; IAM identity policies granted here are the only way in.',
      },
      ...['SEARCH_SLOW_LOGS', 'INDEX_SLOW_LOGS'].map((log) => ({
        id: `AwsSolutions-OS9[LogExport::${log}]`,
        reason: 'Slow logs are an operational option (they need a CloudWatch Logs resource policy written by a custom resource); the index is derived data that a reindex restores.',
      })),
    );
    return domain;
  }
}
