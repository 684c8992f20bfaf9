import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Env, OPENSEARCH_INDEX } from '#contracts/env';
import { INDEXER_MODULE, SEARCH_SNAPSHOT_KEY } from '#lib/constructs/search-index';
import { Metadata } from '#lib/metadata';
import { nagPacks } from '#lib/nag';
import { actionsOf, functionStatements, onlyResource, resourcesOfType, synthesize, type CfnResourceJson, type Synthesized } from './support.ts';

function expectNoFindings(app: IConstruct): void {
  for (const pack of nagPacks(app)) {
    const report = pack.validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  }
}

function indexerOf(template: Template): CfnResourceJson {
  const found = Object.values(resourcesOfType(template, 'AWS::Lambda::Function')).filter((f) => f.Metadata?.[Metadata.handler] === INDEXER_MODULE);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** The event source mapping that invokes the indexer. */
function indexerMapping(template: Template): CfnResourceJson {
  const indexerId = Object.entries(resourcesOfType(template, 'AWS::Lambda::Function')).find(([, f]) => f.Metadata?.[Metadata.handler] === INDEXER_MODULE)![0];
  const found = Object.values(resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')).filter(
    (m) => JSON.stringify(m.Properties!['FunctionName']).includes(indexerId),
  );
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('search indexing (embedded backend, the default)', () => {
  let synth: Synthesized;
  let pipeline: Template;
  beforeAll(() => {
    synth = synthesize();
    pipeline = Template.fromStack(synth.stacks.pipeline);
  });

  it('streams new and old images of the table', () => {
    synth.data.hasResourceProperties('AWS::DynamoDB::GlobalTable', { StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' } });
  });

  it('maps the stream to the indexer: video items only, bisect, bounded retries, per-record failures, an on-failure queue', () => {
    const p = indexerMapping(pipeline).Properties!;
    expect(p['EventSourceArn']).toBeDefined();
    expect(p['StartingPosition']).toBe('TRIM_HORIZON');
    expect(p['BatchSize']).toBe(100);
    expect(p['BisectBatchOnFunctionError']).toBe(true);
    expect(p['MaximumRetryAttempts']).toBe(5);
    expect(p['FunctionResponseTypes']).toEqual(['ReportBatchItemFailures']);
    expect(p['DestinationConfig'].OnFailure.Destination).toBeDefined();
    const pattern = JSON.parse(p['FilterCriteria'].Filters[0].Pattern as string) as unknown;
    expect(pattern).toEqual({ dynamodb: { Keys: { sk: { S: ['VIDEO'] } } } });
  });

  it('sends spent batches to a KMS-encrypted, TLS-only queue', () => {
    const destination = indexerMapping(pipeline).Properties!['DestinationConfig'].OnFailure.Destination as { 'Fn::GetAtt': [string, string] };
    const queue = resourcesOfType(pipeline, 'AWS::SQS::Queue')[destination['Fn::GetAtt'][0]]!;
    expect(queue.Properties!['KmsMasterKeyId']).toBeDefined();
    const policies = Object.values(resourcesOfType(pipeline, 'AWS::SQS::QueuePolicy')).filter((q) =>
      JSON.stringify(q.Properties!['Queues']).includes(destination['Fn::GetAtt'][0]),
    );
    expect(JSON.stringify(policies)).toContain('aws:SecureTransport');
  });

  it('runs one indexer at a time: the embedded snapshot is a single object', () => {
    expect(indexerOf(pipeline).Properties!['ReservedConcurrentExecutions']).toBe(1);
  });

  it('gives the indexer the snapshot location and nothing of the buckets beyond that one key', () => {
    const indexer = indexerOf(pipeline);
    const vars = indexer.Properties!['Environment'].Variables as Record<string, unknown>;
    expect(vars[Env.searchBackend]).toBe('embedded');
    expect(vars[Env.searchSnapshotKey]).toBe(SEARCH_SNAPSHOT_KEY);
    expect(vars[Env.searchSnapshotBucket]).toBeDefined();
    const statements = functionStatements(pipeline, indexer);
    const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3.flatMap(actionsOf).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(JSON.stringify(s3.map((s) => s.Resource))).toContain(`/${SEARCH_SNAPSHOT_KEY}`);
    const streamActions = statements.flatMap(actionsOf).filter((a) => a.startsWith('dynamodb:'));
    expect(streamActions).toEqual(expect.arrayContaining(['dynamodb:GetRecords', 'dynamodb:GetShardIterator']));
    // The indexer reads only the stream: no item reads or writes.
    expect(streamActions.filter((a) => /Item|Query|Scan/.test(a))).toEqual([]);
  });
});

describe('search indexing (context search=opensearch)', () => {
  let synth: Synthesized;
  let pipeline: Template;
  beforeAll(() => {
    synth = synthesize({ search: 'opensearch' });
    pipeline = Template.fromStack(synth.stacks.pipeline);
  });

  it('synthesizes with no unacknowledged cdk-nag finding', () => {
    expectNoFindings(synth.app);
  });

  it('creates an encrypted, HTTPS-only, node-to-node encrypted domain over two zones', () => {
    const [, domain] = onlyResource(pipeline, 'AWS::OpenSearchService::Domain');
    const p = domain.Properties!;
    expect(p['EncryptionAtRestOptions']).toEqual({ Enabled: true });
    expect(p['NodeToNodeEncryptionOptions']).toEqual({ Enabled: true });
    expect(p['DomainEndpointOptions']).toMatchObject({ EnforceHTTPS: true, TLSSecurityPolicy: 'Policy-Min-TLS-1-2-2019-07' });
    expect(p['ClusterConfig']).toMatchObject({ ZoneAwarenessEnabled: true });
    expect(p['AccessPolicies']).toBeUndefined();
  });

  it('points the indexer at the domain, grants it the videos index and bulk only, and lifts the concurrency cap', () => {
    const indexer = indexerOf(pipeline);
    const vars = indexer.Properties!['Environment'].Variables as Record<string, unknown>;
    expect(vars[Env.searchBackend]).toBe('opensearch');
    expect(vars[Env.openSearchEndpoint]).toBeDefined();
    expect(vars[Env.searchSnapshotBucket]).toBeUndefined();
    expect(indexer.Properties!['ReservedConcurrentExecutions']).toBeUndefined();
    const es = functionStatements(pipeline, indexer).filter((s) => actionsOf(s).some((a) => a.startsWith('es:')));
    expect(es.length).toBeGreaterThan(0);
    const resources = JSON.stringify(es.map((s) => s.Resource));
    expect(resources).toContain(`/${OPENSEARCH_INDEX}`);
    expect(resources).toContain('/_bulk');
    expect(functionStatements(pipeline, indexer).flatMap(actionsOf).filter((a) => a.startsWith('s3:'))).toEqual([]);
  });
});
