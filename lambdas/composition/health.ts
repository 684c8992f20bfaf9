import { z } from 'zod';
import { Env, SearchIndexConfig } from '#contracts/env';
import { bucketProbe, secretProbe, tableProbe, userPoolProbe, workflowProbe } from '#adapters/aws-health-probes';
import { s3Client, sfnClient } from '#adapters/clients';
import type { DependencyProbe } from '#domain/health';
import { searchIndex } from './search.ts';

/** What the health route checks, by the names the other routes read them under. */
const HealthConfig = SearchIndexConfig.extend({
  [Env.tableName]: z.string().min(1),
  [Env.rawBucket]: z.string().min(1),
  [Env.mediaBucket]: z.string().min(1),
  [Env.userPoolId]: z.string().min(1),
  [Env.workflowArn]: z.string().min(1),
  [Env.playbackKeySecret]: z.string().min(1),
  [Env.searchCursorSecret]: z.string().min(1),
});

let probes: DependencyProbe[] | undefined;

/**
 * One probe per dependency the API uses. Locally the same calls reach the stand-ins (the
 * endpoints differ), so the route reports each of them. The search index is checked through the
 * adapter the search routes use (one trending read), whichever backend it is.
 */
export function healthProbes(): readonly DependencyProbe[] {
  if (!probes) {
    const config = HealthConfig.parse(process.env);
    const s3 = s3Client({ forcePathStyle: config[Env.s3ForcePathStyle] });
    probes = [
      tableProbe('table', config[Env.tableName]),
      bucketProbe('rawBucket', s3, config[Env.rawBucket]),
      bucketProbe('mediaBucket', s3, config[Env.mediaBucket]),
      userPoolProbe('userPool', config[Env.userPoolId]),
      workflowProbe('workflow', sfnClient(), config[Env.workflowArn]),
      secretProbe('playbackKey', config[Env.playbackKeySecret]),
      secretProbe('cursorKey', config[Env.searchCursorSecret]),
      { name: 'searchIndex', check: async () => void (await searchIndex().trending({ limit: 1, now: Date.now() })) },
    ];
  }
  return probes;
}
