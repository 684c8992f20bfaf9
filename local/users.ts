import {
  AdminConfirmSignUpCommand,
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
  SignUpCommand,
  UsernameExistsException,
} from '@aws-sdk/client-cognito-identity-provider';

export interface UserPoolEndpoint {
  readonly cognitoEndpoint: string;
  readonly userPoolId: string;
  readonly clientId: string;
}

export interface Tokens {
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken: string;
}

const clients = new Map<string, CognitoIdentityProviderClient>();
function cognito(endpoint: string) {
  let client = clients.get(endpoint);
  if (!client) {
    client = new CognitoIdentityProviderClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    clients.set(endpoint, client);
  }
  return client;
}

/**
 * Signs a user up and confirms them (locally there is no mailbox to click a link in), then signs
 * in. Signing up an existing email just signs in.
 */
export async function signUpAndSignIn(pool: UserPoolEndpoint, email: string, password: string): Promise<Tokens> {
  const client = cognito(pool.cognitoEndpoint);
  try {
    await client.send(
      new SignUpCommand({
        ClientId: pool.clientId,
        Username: email,
        Password: password,
        UserAttributes: [{ Name: 'email', Value: email }],
      }),
    );
    await client.send(new AdminConfirmSignUpCommand({ UserPoolId: pool.userPoolId, Username: email }));
  } catch (error) {
    if (!(error instanceof UsernameExistsException)) throw error;
  }
  return signIn(pool, email, password);
}

export async function signIn(pool: UserPoolEndpoint, email: string, password: string): Promise<Tokens> {
  const { AuthenticationResult: auth } = await cognito(pool.cognitoEndpoint).send(
    new InitiateAuthCommand({
      ClientId: pool.clientId,
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: email, PASSWORD: password },
    }),
  );
  if (!auth?.IdToken || !auth.AccessToken || !auth.RefreshToken) throw new Error(`sign-in of ${email} returned no tokens`);
  return { idToken: auth.IdToken, accessToken: auth.AccessToken, refreshToken: auth.RefreshToken };
}
