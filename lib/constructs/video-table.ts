import { RemovalPolicy, type CfnResource } from 'aws-cdk-lib';
import {
  AttributeType,
  Billing,
  StreamViewType,
  TableEncryptionV2,
  TableV2,
} from 'aws-cdk-lib/aws-dynamodb';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { Metadata, ResourceRole } from '#lib/metadata';

/** Names of the single table's generic key attributes and its first GSI (see the key module's access-pattern table). */
export const TableKeys = {
  partitionKey: 'pk',
  sortKey: 'sk',
  gsi1: { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  /** Epoch seconds; DynamoDB deletes the item some time after it passes (rate-limit counters, stale uploads). */
  ttlAttribute: 'expiresAt',
} as const;

/** Props of {@link VideoTable}. */
export interface VideoTableProps {
  /**
   * Key that encrypts the table at rest.
   * @default - a new customer-managed key with yearly rotation, retained with the table
   */
  readonly encryptionKey?: IKey;
  /**
   * What happens to the table (and a key made here) when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Whether DynamoDB refuses to delete the table until this is turned off.
   * @default - true when `removalPolicy` is `RETAIN`
   */
  readonly deletionProtection?: boolean;
  /**
   * Point-in-time recovery (continuous backups, 35 days).
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
}

/**
 * The single DynamoDB table: every entity with generic `pk`/`sk` keys and one GSI
 * (`gsi1pk`/`gsi1sk`); on-demand, point-in-time recovery, deletion protection, encrypted with a
 * customer-managed key, and a stream of new and old images (the search indexer's source).
 */
export class VideoTable extends Construct {
  /** The table (construct id `Resource`; never renamed: a new id would replace the table). */
  public readonly table: TableV2;
  /** The key the table is encrypted with. */
  public readonly encryptionKey: IKey;

  constructor(scope: Construct, id: string, props: VideoTableProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.encryptionKey =
      props.encryptionKey ??
      new Key(this, 'Key', {
        description: 'Encrypts the vodstack video table',
        enableKeyRotation: true,
        removalPolicy,
      });

    this.table = new TableV2(this, 'Resource', {
      partitionKey: { name: TableKeys.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TableKeys.sortKey, type: AttributeType.STRING },
      globalSecondaryIndexes: [
        {
          indexName: TableKeys.gsi1.indexName,
          partitionKey: { name: TableKeys.gsi1.partitionKey, type: AttributeType.STRING },
          sortKey: { name: TableKeys.gsi1.sortKey, type: AttributeType.STRING },
        },
      ],
      billing: Billing.onDemand(),
      dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      encryption: TableEncryptionV2.customerManagedKey(this.encryptionKey),
      timeToLiveAttribute: TableKeys.ttlAttribute,
      deletionProtection: props.deletionProtection ?? removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    (this.table.node.defaultChild as CfnResource).addMetadata(Metadata.resource, ResourceRole.table);
  }

  /** Grants reads (items, queries on the table and its indexes, the key to decrypt). */
  public grantReadData(grantee: IGrantable): Grant {
    return this.table.grantReadData(grantee);
  }

  /** Grants reads and writes of items (and the key to encrypt and decrypt). */
  public grantReadWriteData(grantee: IGrantable): Grant {
    return this.table.grantReadWriteData(grantee);
  }

  /** Grants reading the table's stream (for the search indexer). */
  public grantStreamRead(grantee: IGrantable): Grant {
    return this.table.grantStreamRead(grantee);
  }
}
