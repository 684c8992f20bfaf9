import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { UnavailableError } from '#domain/errors';
import type { Caller, IdTokenVerifier } from '#handlers/shared/http';

/**
 * Verifies Cognito ID tokens as the API Gateway user-pool authorizer does: signature by the
 * pool's JWKS (fetched once, cached by jose), issuer, audience (the app client), `token_use: id`
 * and expiry.
 */
export class CognitoIdTokenVerifier implements IdTokenVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    private readonly issuer: string,
    private readonly clientId: string,
  ) {
    this.jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
  }

  async verify(token: string): Promise<Caller | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.jwks, { issuer: this.issuer, audience: this.clientId });
      if (payload['token_use'] !== 'id' || typeof payload.sub !== 'string') return undefined;
      return { userId: payload.sub, email: typeof payload['email'] === 'string' ? payload['email'] : undefined };
    } catch (error) {
      // A token that fails a check is the caller's problem; not reaching the JWKS is ours.
      if (error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout)) return undefined;
      throw new UnavailableError('cannot verify sign-in tokens right now; try again shortly', { cause: error });
    }
  }
}
