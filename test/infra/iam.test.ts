import { beforeAll, describe, expect, it } from 'vitest';
import type { RouteId } from '#contracts/routes';
import {
  actionsOf,
  functionStatements,
  identityStatements,
  routeFunctions,
  synthesize,
  type Statement,
  type Synthesized,
} from './support.ts';

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize();
});

const tableWrites = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

function statementsOf(route: RouteId): Statement[] {
  const [, fn] = routeFunctions(synth.api).get(route)!;
  return functionStatements(synth.api, fn);
}

function actionsWithPrefix(statements: Statement[], prefix: string): string[] {
  return [...new Set(statements.flatMap(actionsOf).filter((a) => a.startsWith(prefix)))].sort();
}

describe('least privilege', () => {
  it('grants no service-wide or global wildcard action anywhere', () => {
    for (const template of [synth.data, synth.auth, synth.api]) {
      for (const statement of identityStatements(template).filter((s) => s.Effect === 'Allow')) {
        for (const action of actionsOf(statement)) {
          expect(action).not.toBe('*');
          expect(action).not.toMatch(/^[a-z0-9-]+:\*$/);
        }
      }
    }
  });

  it('gives read-only routes no write on the table', () => {
    for (const route of ['GetUpload', 'GetVideoStatus', 'GetVideo', 'GetStream', 'ListMyVideos', 'ExportMe', 'GetTrending', 'GetRelated', 'GetRecommendations', 'ListChannel'] as const) {
      const dynamo = actionsWithPrefix(statementsOf(route), 'dynamodb:');
      expect(dynamo, route).toContain('dynamodb:GetItem');
      for (const write of tableWrites) expect(dynamo, route).not.toContain(write);
    }
  });

  it('lets the routes that change uploads and videos write the table', () => {
    for (const route of ['StartUpload', 'CompleteUpload', 'AbortUpload', 'UpdateVideo', 'DeleteVideo', 'GetMe', 'UpdateMe', 'DeleteMe', 'RecordView'] as const) {
      expect(actionsWithPrefix(statementsOf(route), 'dynamodb:'), route).toEqual(expect.arrayContaining(tableWrites));
    }
  });

  it('gives each route exactly the S3 calls it makes or presigns', () => {
    const expected: Record<RouteId, string[]> = {
      StartUpload: ['s3:PutObject'],
      GetUpload: ['s3:ListMultipartUploadParts', 's3:PutObject'],
      CompleteUpload: ['s3:GetObject', 's3:PutObject'],
      AbortUpload: ['s3:AbortMultipartUpload'],
      GetVideoStatus: [],
      GetVideo: [],
      GetStream: [],
      // Reads an uploaded poster image's first bytes; presigns its PUT.
      UpdateVideo: ['s3:GetObject'],
      StartPosterUpload: ['s3:PutObject'],
      ListMyVideos: [],
      DeleteVideo: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:ListBucket'],
      GetMe: [],
      UpdateMe: [],
      ExportMe: [],
      DeleteMe: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:ListBucket'],
      RecordView: [],
      // Feeds read the embedded index's snapshot for candidates.
      GetTrending: ['s3:GetObject'],
      GetRelated: ['s3:GetObject'],
      GetRecommendations: ['s3:GetObject'],
      ListChannel: [],
      // The embedded index's snapshot (GetObject covers the HEAD of the freshness check).
      SearchVideos: ['s3:GetObject'],
      // The snapshot, as search reads it; HeadBucket of the raw and media buckets.
      GetHealth: ['s3:GetObject', 's3:ListBucket'],
    };
    for (const [route, actions] of Object.entries(expected) as [RouteId, string[]][]) {
      expect(actionsWithPrefix(statementsOf(route), 's3:'), route).toEqual(actions);
    }
  });

  it('scopes S3 grants of the upload routes to originals (uploads/*) of the raw bucket', () => {
    for (const route of ['StartUpload', 'GetUpload', 'CompleteUpload', 'AbortUpload'] as const) {
      for (const statement of statementsOf(route).filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')))) {
        const resource = JSON.stringify(statement.Resource);
        expect(resource, route).toContain('MediaBucketsRaw');
        expect(resource, route).toMatch(/"\/uploads\/\*"\]\]\}$/);
      }
    }
  });

  it('gives no route any object of the raw bucket outside uploads/*', () => {
    for (const route of routeFunctions(synth.api).keys()) {
      // Object actions only (ListBucket, as the health check's HeadBucket, names the bucket itself).
      for (const statement of statementsOf(route as RouteId).filter((s) => actionsOf(s).some((a) => a.startsWith('s3:') && a !== 's3:ListBucket'))) {
        const resource = JSON.stringify(statement.Resource);
        if (resource.includes('MediaBucketsRaw')) expect(resource, route).toMatch(/"\/uploads\/\*"\]\]\}$/);
      }
    }
  });

  it('lets the routes that read or write media use only the media key, as their S3 calls need', () => {
    const mediaKeyActions = (route: RouteId) =>
      statementsOf(route)
        .filter((s) => JSON.stringify(s.Resource).includes('MediaBucketsMediaKey'))
        .flatMap(actionsOf)
        .sort();
    // Presigning a poster PUT: S3 asks for a data key as the signer; reading one back decrypts.
    expect(mediaKeyActions('StartPosterUpload')).toEqual(['kms:GenerateDataKey']);
    expect(mediaKeyActions('UpdateVideo')).toEqual(['kms:Decrypt']);
    // Deleting media needs no key; search reads the snapshot.
    expect(mediaKeyActions('DeleteVideo')).toEqual([]);
    expect(mediaKeyActions('SearchVideos')).toEqual(['kms:Decrypt']);
  });

  it('lets presigning routes use the raw key as SSE-KMS multipart uploads need, and no others', () => {
    const rawKeyActions = (route: RouteId) =>
      statementsOf(route)
        .filter((s) => JSON.stringify(s.Resource).includes('MediaBucketsRawKey'))
        .flatMap(actionsOf)
        .sort();
    for (const route of ['StartUpload', 'GetUpload', 'CompleteUpload'] as const) {
      expect(rawKeyActions(route), route).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    }
    for (const route of ['AbortUpload', 'GetVideoStatus', 'GetVideo', 'GetStream', 'UpdateVideo', 'DeleteVideo', 'ListMyVideos'] as const) {
      expect(rawKeyActions(route), route).toEqual([]);
    }
  });

  it('lets the poster routes touch only uploaded poster images of the media bucket, with its name in env', () => {
    for (const [route, action] of [
      ['StartPosterUpload', 's3:PutObject'],
      ['UpdateVideo', 's3:GetObject'],
    ] as const) {
      const s3Statements = statementsOf(route).filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
      expect(s3Statements, route).toHaveLength(1);
      expect(actionsOf(s3Statements[0]!), route).toEqual([action]);
      const resource = JSON.stringify(s3Statements[0]!.Resource);
      expect(resource, route).toContain('MediaBucketsMedia');
      expect(resource, route).toMatch(/"\/videos\/\*\/thumbs\/custom-\*"\]\]\}$/);
      const [, fn] = routeFunctions(synth.api).get(route)!;
      expect(Object.keys(fn.Properties!.Environment.Variables), route).toContain('MEDIA_BUCKET');
    }
  });

  it('lets DeleteVideo remove the original and an open upload, and list and delete only videos/* of the media bucket', () => {
    const statements = statementsOf('DeleteVideo');
    const on = (action: string) => statements.filter((s) => actionsOf(s).includes(action));
    for (const action of ['s3:DeleteObject', 's3:AbortMultipartUpload']) {
      expect(JSON.stringify(on(action).map((s) => s.Resource)), action).toContain('MediaBucketsRaw');
    }
    const mediaDeletes = on('s3:DeleteObject').filter((s) => JSON.stringify(s.Resource).includes('MediaBucketsMedia'));
    expect(mediaDeletes).toHaveLength(1);
    expect(JSON.stringify(mediaDeletes[0]!.Resource)).toMatch(/"\/videos\/\*\/\*"\]\]\}$/);
    const [list] = on('s3:ListBucket');
    expect(on('s3:ListBucket')).toHaveLength(1);
    expect(JSON.stringify(list!.Resource)).toContain('MediaBucketsMedia');
    expect(list!.Condition).toEqual({ StringLike: { 's3:prefix': ['videos/*/*'] } });
    // It never writes media, nor deletes versions of originals.
    for (const action of ['s3:PutObject', 's3:DeleteObjectVersion', 's3:GetObject']) expect(on(action), action).toEqual([]);
  });

  it('lets only DeleteVideo and DeleteMe stop workflow runs, on the transcode executions only', () => {
    const stoppers = [...routeFunctions(synth.api).keys()].filter((route) =>
      // The health route's ListExecutions reads one execution's name; it cannot stop or start any.
      statementsOf(route as RouteId).some((s) => actionsOf(s).some((a) => a.startsWith('states:') && a !== 'states:ListExecutions')),
    );
    expect(stoppers.sort()).toEqual(['CompleteUpload', 'DeleteMe', 'DeleteVideo']);
    for (const route of ['DeleteVideo', 'DeleteMe'] as const) {
      const statements = statementsOf(route);
      expect(actionsWithPrefix(statements, 'states:'), route).toEqual(['states:StopExecution']);
      const [stop] = statements.filter((s) => actionsOf(s).includes('states:StopExecution'));
      expect(JSON.stringify(stop!.Resource), route).toMatch(/:execution:/);
      expect(JSON.stringify(stop!.Resource), route).toMatch(/:\*"\]\]\}$/);
      const [, fn] = routeFunctions(synth.api).get(route)!;
      expect(fn.Properties!.Environment.Variables.WORKFLOW_ARN, route).toEqual({
        'Fn::GetStackOutput': expect.objectContaining({ StackName: 'Vodstack-Pipeline' }),
      });
    }
  });

  it('lets only DeleteMe delete users, in the one user pool', () => {
    const admins = [...routeFunctions(synth.api).keys()].filter((route) =>
      // The health route's DescribeUserPool reads the pool's settings, no user.
      statementsOf(route as RouteId).some((s) => actionsOf(s).some((a) => a.startsWith('cognito-idp:') && a !== 'cognito-idp:DescribeUserPool')),
    );
    expect(admins).toEqual(['DeleteMe']);
    const statements = statementsOf('DeleteMe').filter((s) => actionsOf(s).some((a) => a.startsWith('cognito-idp:')));
    expect(statements.flatMap(actionsOf)).toEqual(['cognito-idp:AdminDeleteUser']);
    expect(JSON.stringify(statements[0]!.Resource)).toContain('Vodstack-Auth');
  });

  it('lets only GetStream among the routes read the playback signing key', () => {
    const secretReaders = [...routeFunctions(synth.api).keys()].filter((route) =>
      statementsOf(route as RouteId).some((s) => actionsOf(s).includes('secretsmanager:GetSecretValue') && JSON.stringify(s.Resource).includes('PlaybackKey')),
    );
    expect(secretReaders).toEqual(['GetStream']);
    const reads = statementsOf('GetStream').filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    expect(reads).toHaveLength(1);
    expect(actionsOf(reads[0]!).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    // The secret's own ARN (from the data stack), not a wildcard.
    expect(reads[0]!.Resource).toEqual({ 'Fn::GetStackOutput': expect.objectContaining({ StackName: 'Vodstack-Data' }) });
  });

  it('lets only SearchVideos read the search cursor key, and gives it no table and only the snapshot object', () => {
    const cursorReaders = [...routeFunctions(synth.api).keys()].filter((route) =>
      statementsOf(route as RouteId).some((s) => actionsOf(s).includes('secretsmanager:GetSecretValue') && JSON.stringify(s.Resource).includes('SearchCursorKey')),
    );
    expect(cursorReaders).toEqual(['SearchVideos']);
    const statements = statementsOf('SearchVideos');
    const reads = statements.filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    expect(reads).toHaveLength(1);
    expect(actionsOf(reads[0]!).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(reads[0]!.Resource).toEqual({ 'Fn::GetStackOutput': expect.objectContaining({ StackName: 'Vodstack-Data' }) });
    expect(actionsWithPrefix(statements, 'dynamodb:')).toEqual([]);
    const snapshotReads = statements.filter((s) => actionsOf(s).includes('s3:GetObject'));
    expect(snapshotReads).toHaveLength(1);
    expect(JSON.stringify(snapshotReads[0]!.Resource)).toMatch(/MediaBucketsMedia.*\/search\/videos\.json"\]\]\}$/);
  });

  it('lets the feed routes read only the search snapshot, and only RecordView among discovery routes write the table', () => {
    for (const route of ['GetTrending', 'GetRelated', 'GetRecommendations'] as const) {
      const snapshotReads = statementsOf(route).filter((s) => actionsOf(s).includes('s3:GetObject'));
      expect(snapshotReads, route).toHaveLength(1);
      expect(JSON.stringify(snapshotReads[0]!.Resource), route).toMatch(/MediaBucketsMedia.*\/search\/videos\.json"\]\]\}$/);
    }
    for (const route of ['RecordView', 'ListChannel'] as const) {
      expect(actionsWithPrefix(statementsOf(route), 's3:'), route).toEqual([]);
    }
    expect(actionsWithPrefix(statementsOf('RecordView'), 'dynamodb:')).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem']));
  });
});

describe('least privilege with the OpenSearch backend', () => {
  it('lets SearchVideos only read the videos index of the domain (GET and HEAD), with its endpoint in env', () => {
    const os = synthesize({ search: 'opensearch' });
    const [, fn] = routeFunctions(os.api).get('SearchVideos')!;
    const vars = fn.Properties!.Environment.Variables as Record<string, unknown>;
    expect(vars['SEARCH_BACKEND']).toBe('opensearch');
    expect(vars['OPENSEARCH_ENDPOINT']).toBeDefined();
    expect(vars['SEARCH_SNAPSHOT_BUCKET']).toBeUndefined();
    const statements = functionStatements(os.api, fn);
    const es = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('es:')));
    expect([...new Set(es.flatMap(actionsOf))].sort()).toEqual(['es:ESHttpGet', 'es:ESHttpHead']);
    for (const statement of es) expect(JSON.stringify(statement.Resource)).toMatch(/\/videos(\/\*)?"/);
    expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('s3:'))).toEqual([]);
  });
});
