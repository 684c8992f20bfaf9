import { Aws, Duration, RemovalPolicy, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import {
  AccountRecovery,
  FeaturePlan,
  Mfa,
  OAuthScope,
  StandardThreatProtectionMode,
  UserPool,
  UserPoolClient,
  UserPoolClientIdentityProvider,
  UserPoolDomain,
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
  /**
   * Whether Cognito refuses to delete the user pool until this is turned off.
   * @default - true when `removalPolicy` is `RETAIN`
   */
  readonly deletionProtection?: boolean;
  /**
   * The hosted sign-in pages (OIDC, authorization code with PKCE).
   * @default - a Cognito domain `<stack name>-<account id>`, and the web app at
   * `http://localhost:3000` as its only callback
   */
  readonly hostedUi?: HostedUiOptions;
}

/** Where the hosted sign-in pages live and where they send the browser back to. */
export interface HostedUiOptions {
  /**
   * Prefix of the Cognito domain, `https://<prefix>.auth.<region>.amazoncognito.com`: lower-case
   * letters, digits and hyphens, unique in the region, without "aws", "amazon" or "cognito".
   * @default - `<stack name>-<account id>`, lower-case
   */
  readonly domainPrefix?: string;
  /**
   * The web app's origin (`https://…`, or `http://localhost…`). Sign-in returns to
   * `<appUrl>/auth/callback`, sign-out to `<appUrl>/`. The CloudFront URL is made in a later stack
   * than the pool, so it is passed in (context `appUrl`), not referenced.
   * @default 'http://localhost:3000'
   */
  readonly appUrl?: string;
}

/** Path of the web app the hosted UI returns to with an authorization code. */
export const AUTH_CALLBACK_PATH = '/auth/callback';

/**
 * Viewer and creator accounts: a Cognito user pool (self sign-up with email, verified email,
 * strong passwords, optional TOTP MFA), the public app client the web app and API clients use
 * (SRP and password auth, refresh tokens, no secret, no user-existence leaks), and the hosted UI:
 * a Cognito domain where the client signs in over OIDC with the authorization code grant only
 * (scopes openid, email, profile). The client has no secret, so it must send a PKCE
 * `code_challenge` (S256) with each authorization request, which Cognito then checks against the
 * `code_verifier` at the token endpoint; the implicit grant is off, so tokens never travel in URLs.
 *
 * Locally, cognito-local serves no hosted UI: the web app keeps its email/password form
 * (USER_PASSWORD_AUTH), which this client allows too.
 */
export class UserAccounts extends Construct {
  /** The user pool (construct id `Resource`; never renamed: a new id would replace the pool and its users). */
  public readonly userPool: UserPool;
  /** The public app client. */
  public readonly client: UserPoolClient;
  /** The hosted UI's Cognito domain. */
  public readonly domain: UserPoolDomain;

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
      deletionProtection: props.deletionProtection ?? removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    (this.userPool.node.defaultChild as CfnResource).addMetadata(Metadata.resource, ResourceRole.userPool);

    const appUrl = (props.hostedUi?.appUrl ?? 'http://localhost:3000').replace(/\/+$/, '');
    if (!/^(https:\/\/[^/\s]+|http:\/\/localhost(:\d+)?)(\/[^\s]*)?$/.test(appUrl)) {
      throw new Error(`${this.node.path}: appUrl "${appUrl}" must be an https URL (or http://localhost): Cognito refuses other callbacks`);
    }
    this.domain = this.userPool.addDomain('Domain', {
      cognitoDomain: {
        domainPrefix: props.hostedUi?.domainPrefix ?? `${Stack.of(this).stackName.toLowerCase()}-${Aws.ACCOUNT_ID}`,
      },
    });
    this.client = this.userPool.addClient('WebClient', {
      authFlows: { userSrp: true, userPassword: true },
      oAuth: {
        flows: { authorizationCodeGrant: true, implicitCodeGrant: false, clientCredentials: false },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: [`${appUrl}${AUTH_CALLBACK_PATH}`],
        logoutUrls: [`${appUrl}/`],
      },
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
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
