import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { FeaturePlan } from 'aws-cdk-lib/aws-cognito';
import type { Construct } from 'constructs';
import { UserAccounts, type HostedUiOptions } from '#lib/constructs/user-accounts';
import { Stages, type StageConfig } from '#lib/stages';

/** Props of {@link AuthStack}. */
export interface AuthStackProps extends StackProps {
  /**
   * Cognito feature plan.
   * @default FeaturePlan.PLUS
   */
  readonly featurePlan?: FeaturePlan;
  /**
   * The hosted UI's domain prefix and the web app's URL it returns to.
   * @default - see {@link HostedUiOptions}
   */
  readonly hostedUi?: HostedUiOptions;
  /**
   * Removal policy and deletion protection of the user pool; termination protection.
   * @default Stages.dev
   */
  readonly stage?: StageConfig;
}

/** Accounts: the Cognito user pool and its public app client (the pool is retained). */
export class AuthStack extends Stack {
  public readonly accounts: UserAccounts;

  constructor(scope: Construct, id: string, props: AuthStackProps = {}) {
    const { featurePlan, hostedUi, stage = Stages.dev, ...stackProps } = props;
    super(scope, id, {
      description: 'vodstack: Cognito user pool and app client (retained)',
      terminationProtection: stage.terminationProtection,
      ...stackProps,
    });

    this.accounts = new UserAccounts(this, 'UserAccounts', {
      featurePlan,
      hostedUi,
      removalPolicy: stage.statefulRemovalPolicy,
      deletionProtection: stage.deletionProtection,
    });

    new CfnOutput(this, 'UserPoolId', { value: this.accounts.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.accounts.client.userPoolClientId });
    new CfnOutput(this, 'HostedUiUrl', {
      description: 'The hosted sign-in (OIDC issuer endpoints: /oauth2/authorize, /oauth2/token, /logout)',
      value: this.accounts.domain.baseUrl(),
    });
  }
}
