// Registers the JavaScript SigV4a signer: the KeyValueStore data-plane API is signed with SigV4a
// and the SDK otherwise looks for the native CRT module.
import '@aws-sdk/signature-v4a';
import {
  CloudFrontKeyValueStoreClient,
  ConflictException,
  DescribeKeyValueStoreCommand,
  PutKeyCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { z } from 'zod';
import { PlaybackPaths } from '#contracts/playback';
import { log } from '../shared/log.ts';
import { observed } from '../shared/observability.ts';

/** The custom resource's properties, as `lib/constructs/playback-key.ts` sets them. */
export const SyncPlaybackKeyProperties = z.object({
  /** ARN (or name) of the `{"kid","key"}` secret. */
  SecretId: z.string().min(1),
  /** ARN of the CloudFront KeyValueStore the edge function reads. */
  KeyValueStoreArn: z.string().startsWith('arn:'),
});

/** The secret as `#contracts/playback` defines it; a KeyValueStore value holds at most 1 KB. */
const PlaybackKeySecret = z.object({
  kid: z.string().regex(/^[a-z0-9]{1,16}$/, 'kid must be 1-16 lowercase letters or digits'),
  key: z.string().min(32, 'key must be at least 32 characters').max(1024),
});

/** What the Provider framework hands back to CloudFormation. */
export interface SyncResult {
  readonly PhysicalResourceId: string;
  readonly Data?: { readonly Kid: string; readonly KeyName: string };
}

/** The store's ETag moves with every write; a write racing ours is retried this often. */
const PUT_ATTEMPTS = 3;

let secrets: SecretsManagerClient | undefined;
let keyValueStore: CloudFrontKeyValueStoreClient | undefined;

/**
 * Custom resource (the custom-resources Provider's onEvent): copies the playback signing key from
 * Secrets Manager into the CloudFront KeyValueStore that `lambdas/edge/playback-access.js` reads,
 * as `playback-key-{kid}`. Create and update write the key (a new secret, store or kid); keys of
 * earlier kids stay, so URLs signed with them keep working until they expire. Delete leaves the
 * store alone: it is deleted with its stack.
 *
 * Infrastructure plumbing with no domain rule in it, so the two SDK calls live here.
 */
export const handler = observed(async (event: CloudFormationCustomResourceEvent): Promise<SyncResult> => {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const { SecretId, KeyValueStoreArn } = SyncPlaybackKeyProperties.parse(event.ResourceProperties);

  secrets ??= new SecretsManagerClient({});
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId }));
  const parsed = PlaybackKeySecret.safeParse(JSON.parse(SecretString ?? '{}'));
  if (!parsed.success) {
    // Never echo the value: only which fields are wrong.
    throw new Error(`secret ${SecretId} is not a playback key: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const { kid, key } = parsed.data;
  const keyName = `${PlaybackPaths.kvsKeyPrefix}${kid}`;

  keyValueStore ??= new CloudFrontKeyValueStoreClient({});
  for (let attempt = 1; ; attempt++) {
    const { ETag } = await keyValueStore.send(new DescribeKeyValueStoreCommand({ KvsARN: KeyValueStoreArn }));
    try {
      await keyValueStore.send(new PutKeyCommand({ KvsARN: KeyValueStoreArn, Key: keyName, Value: key, IfMatch: ETag }));
      break;
    } catch (error) {
      if (!(error instanceof ConflictException) || attempt >= PUT_ATTEMPTS) throw error;
      log.warn('the key value store changed meanwhile; retrying', { kvs: KeyValueStoreArn, attempt });
    }
  }
  log.info('playback key synced', { kvs: KeyValueStoreArn, key: keyName });
  return { PhysicalResourceId: `${KeyValueStoreArn}#${keyName}`, Data: { Kid: kid, KeyName: keyName } };
});
