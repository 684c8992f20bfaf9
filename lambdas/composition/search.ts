import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { Env, OPENSEARCH_INDEX, SearchConfig, SearchIndexConfig } from '#contracts/env';
import { s3Client } from '#adapters/clients';
import { SnapshotSearchIndex } from '#adapters/embedded-search-index';
import { HmacCursorSigner } from '#adapters/hmac-cursor-signer';
import { OpenSearchSearchIndex } from '#adapters/opensearch-search-index';
import { S3SnapshotStore } from '#adapters/s3-snapshot-store';
import type { SearchIndex } from '#domain/ports';
import { Search } from '#domain/search';

let index: SearchIndex | undefined;
let search: Search | undefined;

/**
 * The search index this function was configured with: the embedded engine over the snapshot
 * object (`Env.searchBackend` = `embedded`), or OpenSearch with SigV4 (`opensearch`; service
 * `aoss` when the endpoint is a serverless collection). Built once per process.
 */
export function searchIndex(): SearchIndex {
  if (!index) {
    const config = SearchIndexConfig.parse(process.env);
    if (config[Env.searchBackend] === 'opensearch') {
      const endpoint = config[Env.openSearchEndpoint];
      if (!endpoint) throw new Error(`${Env.openSearchEndpoint} must be set when ${Env.searchBackend} is opensearch`);
      const service = /\.aoss\.amazonaws\.com/.test(endpoint) ? 'aoss' : 'es';
      const client = new Client({
        ...AwsSigv4Signer({ region: config.AWS_REGION, service, getCredentials: defaultProvider() }),
        node: endpoint,
      });
      index = new OpenSearchSearchIndex(client, OPENSEARCH_INDEX);
    } else {
      const bucket = config[Env.searchSnapshotBucket];
      const key = config[Env.searchSnapshotKey];
      if (!bucket || !key) {
        throw new Error(`${Env.searchSnapshotBucket} and ${Env.searchSnapshotKey} must be set when ${Env.searchBackend} is embedded`);
      }
      index = new SnapshotSearchIndex(new S3SnapshotStore(s3Client({ forcePathStyle: config[Env.s3ForcePathStyle] }), bucket, key));
    }
  }
  return index;
}

/** The composition root of search: the index and the cursor signing key. */
export function searchDeps(): { search: Search } {
  if (!search) {
    const config = SearchConfig.parse(process.env);
    search = new Search({
      index: searchIndex(),
      signer: new HmacCursorSigner(new SecretsManagerClient({}), config[Env.searchCursorSecret]),
      clock: { now: () => new Date() },
    });
  }
  return { search };
}
