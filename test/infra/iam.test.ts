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
    for (const route of ['GetUpload', 'GetVideoStatus', 'GetVideo'] as const) {
      const dynamo = actionsWithPrefix(statementsOf(route), 'dynamodb:');
      expect(dynamo, route).toContain('dynamodb:GetItem');
      for (const write of tableWrites) expect(dynamo, route).not.toContain(write);
    }
  });

  it('lets the routes that change uploads write the table', () => {
    for (const route of ['StartUpload', 'CompleteUpload', 'AbortUpload'] as const) {
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
    };
    for (const [route, actions] of Object.entries(expected) as [RouteId, string[]][]) {
      expect(actionsWithPrefix(statementsOf(route), 's3:'), route).toEqual(actions);
    }
  });

  it('scopes S3 grants to the objects of the raw bucket', () => {
    for (const route of ['StartUpload', 'GetUpload', 'CompleteUpload', 'AbortUpload'] as const) {
      for (const statement of statementsOf(route).filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')))) {
        const resource = JSON.stringify(statement.Resource);
        expect(resource, route).toContain('MediaBucketsRaw');
        expect(resource, route).toMatch(/"\/\*"\]\]\}$/);
      }
    }
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
    for (const route of ['AbortUpload', 'GetVideoStatus', 'GetVideo'] as const) {
      expect(rawKeyActions(route), route).toEqual([]);
    }
  });
});
