import { AdminDeleteUserCommand, type CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type { UserDirectory } from '#domain/accounts';
import { unavailable } from './transient-errors.ts';

/**
 * `UserDirectory` on a Cognito user pool, with the admin API (the caller's own token is not
 * needed, so deletion can finish on a retry). Users are named by their `sub`, which Cognito
 * accepts as the username of a pool that signs in by email.
 */
export class CognitoUserAdmin implements UserDirectory {
  constructor(
    private readonly cognito: CognitoIdentityProviderClient,
    private readonly userPoolId: string,
  ) {}

  async deleteUser(userId: string): Promise<void> {
    await this.cognito.send(new AdminDeleteUserCommand({ UserPoolId: this.userPoolId, Username: userId })).catch((error: unknown) => {
      if (error instanceof Error && error.name === 'UserNotFoundException') return;
      return unavailable('the user directory')(error);
    });
  }
}
