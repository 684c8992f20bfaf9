import { createLocalJWKSet, errors, exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWK, type JWTVerifyGetKey } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { CognitoIdTokenVerifier } from '#adapters/cognito-id-token-verifier';
import { UnavailableError } from '#domain/errors';

const ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TESTPOOL';
const CLIENT_ID = 'app-client-1234';
const KID = 'pool-key-1';
const USER = '5f0c3b1e-0000-4000-8000-00000000a11c';

let poolKey: CryptoKey;
let poolPublicJwk: JWK;
let otherKey: CryptoKey;
let verifier: CognitoIdTokenVerifier;

beforeAll(async () => {
  const pool = await generateKeyPair('RS256', { extractable: true });
  poolKey = pool.privateKey;
  poolPublicJwk = { ...(await exportJWK(pool.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  otherKey = (await generateKeyPair('RS256')).privateKey;
  verifier = new CognitoIdTokenVerifier(ISSUER, CLIENT_ID, createLocalJWKSet({ keys: [poolPublicJwk] }));
});

/** An ID token as Cognito issues it; `claims` override any of its claims. */
function idToken(claims: Record<string, unknown> = {}, opts: { key?: CryptoKey; kid?: string; expiresIn?: string | number } = {}) {
  return new SignJWT({ sub: USER, iss: ISSUER, aud: CLIENT_ID, token_use: 'id', email: 'alice@example.com', 'cognito:username': USER, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? KID })
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '1h')
    .sign(opts.key ?? poolKey);
}

describe('CognitoIdTokenVerifier', () => {
  it('accepts an unexpired RS256 ID token of the pool issued to the app client', async () => {
    await expect(verifier.verify(await idToken())).resolves.toEqual({ userId: USER, email: 'alice@example.com' });
  });

  it('rejects an access token of the same pool and client (token_use access)', async () => {
    // Cognito access tokens carry `client_id`, not `aud`; one that does carry the client as `aud` is refused too.
    const access = await new SignJWT({ token_use: 'access', client_id: CLIENT_ID, scope: 'aws.cognito.signin.user.admin' })
      .setProtectedHeader({ alg: 'RS256', kid: KID })
      .setSubject(USER)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(poolKey);
    await expect(verifier.verify(access)).resolves.toBeUndefined();
    await expect(verifier.verify(await idToken({ token_use: 'access' }))).resolves.toBeUndefined();
  });

  it('rejects a token without token_use', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: KID })
      .setSubject(USER)
      .setIssuer(ISSUER)
      .setAudience(CLIENT_ID)
      .setExpirationTime('1h')
      .sign(poolKey);
    await expect(verifier.verify(token)).resolves.toBeUndefined();
  });

  it('rejects an ID token issued to another app client', async () => {
    await expect(verifier.verify(await idToken({ aud: 'another-client' }))).resolves.toBeUndefined();
  });

  it('rejects an ID token of another issuer, even signed with the same key', async () => {
    await expect(verifier.verify(await idToken({ iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OTHERPOOL' }))).resolves.toBeUndefined();
  });

  it('rejects an expired ID token', async () => {
    const expired = await idToken({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    await expect(verifier.verify(expired)).resolves.toBeUndefined();
  });

  it('rejects a token signed by a key that is not the pool’s, under the pool’s kid or another', async () => {
    await expect(verifier.verify(await idToken({}, { key: otherKey }))).resolves.toBeUndefined();
    await expect(verifier.verify(await idToken({}, { key: otherKey, kid: 'attacker-key' }))).resolves.toBeUndefined();
  });

  it('rejects an unsigned token (alg none)', async () => {
    const unsigned = new UnsecuredJWT({ token_use: 'id' }).setSubject(USER).setIssuer(ISSUER).setAudience(CLIENT_ID).setExpirationTime('1h').encode();
    await expect(verifier.verify(unsigned)).resolves.toBeUndefined();
  });

  it('rejects an HS256 token keyed with the pool’s public key (algorithm confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(poolPublicJwk));
    const forged = await new SignJWT({ token_use: 'id' })
      .setProtectedHeader({ alg: 'HS256', kid: KID })
      .setSubject(USER)
      .setIssuer(ISSUER)
      .setAudience(CLIENT_ID)
      .setExpirationTime('1h')
      .sign(secret);
    // Even a key source that would hand out that secret is never asked: the algorithm is refused first.
    let asked = false;
    const lenient: JWTVerifyGetKey = () => {
      asked = true;
      return secret;
    };
    await expect(new CognitoIdTokenVerifier(ISSUER, CLIENT_ID, lenient).verify(forged)).resolves.toBeUndefined();
    expect(asked).toBe(false);
    await expect(verifier.verify(forged)).resolves.toBeUndefined();
  });

  it('rejects garbage and a token with a tampered payload', async () => {
    await expect(verifier.verify('not-a-jwt')).resolves.toBeUndefined();
    const [header, , signature] = (await idToken()).split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'someone-else', token_use: 'id', iss: ISSUER, aud: CLIENT_ID, exp: 9_999_999_999 })).toString('base64url');
    await expect(verifier.verify(`${header}.${payload}.${signature}`)).resolves.toBeUndefined();
  });

  it('reports an unreachable key set as unavailable rather than as a bad token', async () => {
    const timingOut: JWTVerifyGetKey = () => {
      throw new errors.JWKSTimeout();
    };
    await expect(new CognitoIdTokenVerifier(ISSUER, CLIENT_ID, timingOut).verify(await idToken())).rejects.toBeInstanceOf(UnavailableError);
  });
});
