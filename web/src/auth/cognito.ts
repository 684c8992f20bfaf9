/**
 * A small client for the Cognito user pool JSON API (the unauthenticated operations an app
 * client may call): POST to the endpoint with `X-Amz-Target: AWSCognitoIdentityProviderService.<Op>`.
 * The SDK would add ~100 kB to the bundle for five calls.
 */

export interface AuthTokens {
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken: string;
}

/** A Cognito error: `type` is the exception name (`NotAuthorizedException`, …). */
export class CognitoError extends Error {
  override readonly name = 'CognitoError';
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

interface AuthenticationResult {
  IdToken?: string;
  AccessToken?: string;
  RefreshToken?: string;
}

export class CognitoClient {
  constructor(
    private readonly endpoint: string,
    private readonly clientId: string,
  ) {}

  async signUp(email: string, password: string): Promise<{ confirmed: boolean; destination?: string }> {
    const out = await this.call<{ UserConfirmed?: boolean; CodeDeliveryDetails?: { Destination?: string } }>('SignUp', {
      ClientId: this.clientId,
      Username: email,
      Password: password,
      UserAttributes: [{ Name: 'email', Value: email }],
    });
    return { confirmed: out.UserConfirmed === true, ...(out.CodeDeliveryDetails?.Destination ? { destination: out.CodeDeliveryDetails.Destination } : {}) };
  }

  async confirmSignUp(email: string, code: string): Promise<void> {
    await this.call('ConfirmSignUp', { ClientId: this.clientId, Username: email, ConfirmationCode: code });
  }

  async resendCode(email: string): Promise<void> {
    await this.call('ResendConfirmationCode', { ClientId: this.clientId, Username: email });
  }

  async signIn(email: string, password: string): Promise<AuthTokens> {
    const result = await this.initiateAuth('USER_PASSWORD_AUTH', { USERNAME: email, PASSWORD: password });
    if (!result.RefreshToken) throw new CognitoError('InvalidResponse', 'the sign-in returned no refresh token');
    return { idToken: result.IdToken!, accessToken: result.AccessToken!, refreshToken: result.RefreshToken };
  }

  /** New ID and access tokens; Cognito keeps the refresh token unless it rotates it. */
  async refresh(refreshToken: string): Promise<AuthTokens> {
    const result = await this.initiateAuth('REFRESH_TOKEN_AUTH', { REFRESH_TOKEN: refreshToken });
    return { idToken: result.IdToken!, accessToken: result.AccessToken!, refreshToken: result.RefreshToken ?? refreshToken };
  }

  /** Signs the refresh token out (its ID and access tokens stop refreshing). */
  async revoke(refreshToken: string): Promise<void> {
    await this.call('RevokeToken', { ClientId: this.clientId, Token: refreshToken });
  }

  private async initiateAuth(flow: string, parameters: Record<string, string>): Promise<AuthenticationResult> {
    const out = await this.call<{ AuthenticationResult?: AuthenticationResult; ChallengeName?: string }>('InitiateAuth', {
      ClientId: this.clientId,
      AuthFlow: flow,
      AuthParameters: parameters,
    });
    const result = out.AuthenticationResult;
    if (!result?.IdToken || !result.AccessToken) {
      throw new CognitoError(out.ChallengeName ?? 'InvalidResponse', `signing in needs a step this app does not support (${out.ChallengeName ?? 'no tokens'})`);
    }
    return result;
  }

  private async call<T = unknown>(operation: string, body: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `AWSCognitoIdentityProviderService.${operation}`,
        },
        body: JSON.stringify(body),
      });
    } catch {
      throw new CognitoError('NetworkError', 'the sign-in service cannot be reached; check your connection');
    }
    const data = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const raw = String(data['__type'] ?? response.headers.get('x-amzn-errortype') ?? `HTTP${response.status}`);
      // `__type` may be namespaced (`com.amazonaws…#NotAuthorizedException`) or carry `:…` details.
      const type = raw.split('#').pop()!.split(':')[0]!;
      throw new CognitoError(type, String(data['message'] ?? data['Message'] ?? `the sign-in service answered ${response.status}`));
    }
    return data as T;
  }
}

/** What to tell a person about a Cognito error. */
export function describeCognitoError(error: unknown): string {
  if (!(error instanceof CognitoError)) return error instanceof Error ? error.message : String(error);
  switch (error.type) {
    case 'NotAuthorizedException':
    case 'UserNotFoundException':
      return /refresh token/i.test(error.message) ? 'Your session has expired. Please log in again.' : 'The email or password is not right.';
    case 'UsernameExistsException':
      return 'An account with this email already exists. Log in instead.';
    case 'InvalidPasswordException':
      return `That password is not allowed: ${error.message.replace(/^Password did not conform with policy:\s*/i, '')}`;
    case 'CodeMismatchException':
      return 'That confirmation code is not right. Check it and try again.';
    case 'ExpiredCodeException':
      return 'That confirmation code has expired. Ask for a new one.';
    case 'LimitExceededException':
    case 'TooManyRequestsException':
    case 'TooManyFailedAttemptsException':
      return 'Too many attempts. Wait a few minutes, then try again.';
    case 'InvalidParameterException':
      return error.message;
    case 'UserNotConfirmedException':
      return 'This account is not confirmed yet. Enter the confirmation code we sent you.';
    default:
      return error.message;
  }
}
