import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { generateKeyPair, importJWK, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import { beforeAll, describe, expect, inject, it } from 'vitest';

const platform = inject('platform');

/**
 * cognito-local signs every token with one RSA key shipped in its package (kid `CognitoLocal`),
 * so a test can mint tokens the local gateway and the handlers would accept, then break one
 * property at a time. The positive control proves the minting matches; each case must then be
 * refused only for the property it breaks.
 */
const COGNITO_LOCAL_KEY = createRequire(import.meta.url).resolve('cognito-local/lib/keys/cognitoLocal.private.json');

let poolKey: CryptoKey;
let poolPublicJwk: JWK;
let otherKey: CryptoKey;
const issuer = () => `${platform.cognitoEndpoint}/${platform.userPoolId}`;
const SUB = '0b9b4a7e-0000-4000-8000-70c4e5c4ec55';

beforeAll(async () => {
  const { jwk } = JSON.parse(readFileSync(COGNITO_LOCAL_KEY, 'utf8')) as { jwk: JWK };
  poolKey = (await importJWK(jwk, 'RS256')) as CryptoKey;
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
  poolPublicJwk = publicJwk;
  otherKey = (await generateKeyPair('RS256')).privateKey;
});

function token(claims: Record<string, unknown> = {}, opts: { key?: CryptoKey; expiresAt?: number } = {}): Promise<string> {
  return new SignJWT({ sub: SUB, iss: issuer(), aud: platform.clientId, token_use: 'id', email: 'token-checks@example.com', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'CognitoLocal' })
    .setIssuedAt()
    .setExpirationTime(opts.expiresAt ?? Math.floor(Date.now() / 1000) + 3600)
    .sign(opts.key ?? poolKey);
}

async function status(path: string, bearer?: string): Promise<number> {
  const response = await fetch(`${platform.apiUrl}${path}`, bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {});
  await response.arrayBuffer();
  return response.status;
}

/** A user route (the gateway's authorizer checks the token) and an optional-auth route (the handler does). */
const USER_ROUTE = '/api/v1/me';
const OPTIONAL_ROUTE = '/api/v1/feed/trending';

describe('sign-in token checks (local gateway and optional-auth handlers)', () => {
  it('accepts an ID token of the pool issued to the app client (the control)', async () => {
    const good = await token();
    expect(await status(USER_ROUTE, good)).toBe(200);
    expect(await status(OPTIONAL_ROUTE, good)).toBe(200);
    expect(await status(OPTIONAL_ROUTE)).toBe(200);
  });

  const cases: [string, () => Promise<string>][] = [
    [
      'an access token (token_use access, the client in client_id)',
      () => token({ token_use: 'access', aud: undefined, client_id: platform.clientId, scope: 'aws.cognito.signin.user.admin' }),
    ],
    ['an access token that also names the client as aud', () => token({ token_use: 'access' })],
    ['an ID token of another app client', () => token({ aud: 'someone-elses-client' })],
    ['an ID token of another issuer', () => token({ iss: `${platform.cognitoEndpoint}/local_0therPool` })],
    ['an expired ID token', () => token({}, { expiresAt: Math.floor(Date.now() / 1000) - 60 })],
    ['an ID token signed by another key under the pool’s kid', () => token({}, { key: otherKey })],
    [
      'an unsigned token (alg none)',
      async () => new UnsecuredJWT({ token_use: 'id', email: 'x@example.com' }).setSubject(SUB).setIssuer(issuer()).setAudience(platform.clientId).setExpirationTime('1h').encode(),
    ],
    [
      'an HS256 token keyed with the pool’s public key',
      () =>
        new SignJWT({ sub: SUB, iss: issuer(), aud: platform.clientId, token_use: 'id' })
          .setProtectedHeader({ alg: 'HS256', kid: 'CognitoLocal' })
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(JSON.stringify(poolPublicJwk))),
    ],
  ];

  it.each(cases)('refuses %s with 401 on user and optional-auth routes', async (_, make) => {
    const bad = await make();
    expect(await status(USER_ROUTE, bad)).toBe(401);
    expect(await status(OPTIONAL_ROUTE, bad)).toBe(401);
  });
});
