import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { UnavailableError } from '#domain/errors';
import type { Caller, IdTokenVerifier } from '#handlers/shared/http';

/** Cognito signs every token with RS256. */
const COGNITO_ALGORITHMS = ['RS256'];

/**
 * Verifies Cognito ID tokens as the API Gateway user-pool authorizer does: an RS256 signature by
 * one of the pool's keys (JWKS fetched once, cached by jose), issuer (the pool), audience (the
 * app client: stricter than the authorizer, which takes any client of the pool), `token_use: id`
 * (an access token carries no `aud` and is refused), and expiry. Any other algorithm (`none`,
 * `HS256` signed with a public key as the secret, …) is refused before a key is looked up.
 */
export class CognitoIdTokenVerifier implements IdTokenVerifier {
  /**
   * @param issuer the pool's issuer, `https://cognito-idp.<region>.amazonaws.com/<pool id>`
   * @param clientId the app client ID tokens must be issued to (`aud`)
   * @param keys where the pool's public keys come from (tests pass a local key set)
   * @default keys - the pool's JWKS at `<issuer>/.well-known/jwks.json`
   */
  constructor(
    private readonly issuer: string,
    private readonly clientId: string,
    private readonly keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)),
  ) {}

  async verify(token: string): Promise<Caller | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.keys, { issuer: this.issuer, audience: this.clientId, algorithms: COGNITO_ALGORITHMS });
      if (payload['token_use'] !== 'id' || typeof payload.sub !== 'string') return undefined;
      return { userId: payload.sub, email: typeof payload['email'] === 'string' ? payload['email'] : undefined };
    } catch (error) {
      // A token that fails a check is the caller's problem; not reaching the JWKS is ours.
      if (error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout)) return undefined;
      throw new UnavailableError('cannot verify sign-in tokens right now; try again shortly', { cause: error });
    }
  }
}
