import { Duration, RemovalPolicy, Validations, type CfnResource } from 'aws-cdk-lib';
import {
  AccountRecovery,
  FeaturePlan,
  Mfa,
  StandardThreatProtectionMode,
  UserPool,
  UserPoolClient,
} from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { Metadata, ResourceRole } from '#lib/metadata';

/** Props of {@link UserAccounts}. */
export interface UserAccountsProps {
  /**
   * Cognito feature plan. `PLUS` turns on threat protection (compromised-credential checks,
   * adaptive authentication that asks risky sign-ins for MFA), at a per-MAU price.
   * @default FeaturePlan.PLUS
   */
  readonly featurePlan?: FeaturePlan;
  /**
   * What happens to the user pool when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Viewer and creator accounts: a Cognito user pool (self sign-up with email, verified email,
 * strong passwords, optional TOTP MFA) and the public app client the web app and API clients use
 * (SRP and password auth, refresh tokens, no secret, no user-existence leaks).
 */
export class UserAccounts extends Construct {
  /** The user pool (construct id `Resource`; never renamed: a new id would replace the pool and its users). */
  public readonly userPool: UserPool;
  /** The public app client. */
  public readonly client: UserPoolClient;

  constructor(scope: Construct, id: string, props: UserAccountsProps = {}) {
    super(scope, id);
    const featurePlan = props.featurePlan ?? FeaturePlan.PLUS;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.userPool = new UserPool(this, 'Resource', {
      selfSignUpEnabled: true,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      keepOriginal: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      featurePlan,
      ...(featurePlan === FeaturePlan.PLUS
        ? { standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION }
        : {}),
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    (this.userPool.node.defaultChild as CfnResource).addMetadata(Metadata.resource, ResourceRole.userPool);

    this.client = this.userPool.addClient('WebClient', {
      authFlows: { userSrp: true, userPassword: true },
      // No hosted UI yet (a later issue adds OIDC and managed login with real callback URLs).
      disableOAuth: true,
      generateSecret: false,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
    });
    (this.client.node.defaultChild as CfnResource).addMetadata(Metadata.resource, ResourceRole.userPoolClient);

    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG2',
      reason:
        'Anyone may sign up to watch, so MFA is optional (TOTP) rather than required; with the Plus plan, adaptive authentication demands MFA for risky sign-ins.',
    });
    if (featurePlan !== FeaturePlan.PLUS) {
      Validations.of(this.userPool).acknowledge({
        id: 'AwsSolutions-COG8',
        reason: `The operator chose the ${featurePlan} feature plan (context "cognitoFeaturePlan"); threat protection is off by that choice.`,
      });
    }
  }
}
