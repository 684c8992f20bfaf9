import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Env, OptionalAuthConfig, PlaybackConfig } from '#contracts/env';
import { documentClient } from '#adapters/clients';
import { CognitoIdTokenVerifier } from '#adapters/cognito-id-token-verifier';
import { DynamoVideoRepository } from '#adapters/dynamo-video-repository';
import { HmacPlaybackSigner } from '#adapters/hmac-playback-signer';
import { Playback } from '#domain/playback';
import type { IdTokenVerifier } from '#handlers/shared/http';

let playback: Playback | undefined;
let verifier: IdTokenVerifier | undefined;

/** The composition root of playback: the stream endpoint's configuration and adapters. */
export function playbackDeps(): { playback: Playback } {
  if (!playback) {
    const config = PlaybackConfig.parse(process.env);
    playback = new Playback({
      videos: new DynamoVideoRepository(documentClient(), config[Env.tableName]),
      signer: new HmacPlaybackSigner(new SecretsManagerClient({}), config[Env.playbackKeySecret]),
      clock: { now: () => new Date() },
      cdnUrl: config[Env.cdnUrl].replace(/\/+$/, ''),
      limits: { ttlSeconds: config[Env.playbackTtlSeconds] },
    });
  }
  return { playback };
}

/**
 * Verifies ID tokens sent to `auth: 'optional'` routes. The issuer is Cognito's endpoint plus the
 * pool id — `https://cognito-idp.{region}.amazonaws.com/{pool}` on AWS, the stand-in's URL locally.
 */
export function idTokenVerifier(): IdTokenVerifier {
  if (!verifier) {
    const config = OptionalAuthConfig.parse(process.env);
    const endpoint =
      config.AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER ?? `https://cognito-idp.${config.AWS_REGION}.amazonaws.com`;
    verifier = new CognitoIdTokenVerifier(`${endpoint.replace(/\/+$/, '')}/${config[Env.userPoolId]}`, config[Env.userPoolClientId]);
  }
  return verifier;
}
