import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { VodstackWebAcl, type WebAclRateLimits } from '#lib/constructs/web-acl';

/** Props of {@link EdgeStack}. */
export interface EdgeStackProps extends StackProps {
  /**
   * Per-IP limits of the CloudFront web ACL.
   * @default WebAclDefaults
   */
  readonly rateLimits?: WebAclRateLimits;
}

/**
 * The CloudFront web ACL, alone in us-east-1, for apps deployed elsewhere: WAF only attaches
 * `CLOUDFRONT`-scoped web ACLs created in us-east-1, and a distribution takes it by ARN. The api
 * stack reads the ARN across regions with `Fn::GetStackOutput` (the app's weak cross-stack
 * references), so no export and no custom resource is involved. When the app itself is in
 * us-east-1, the web ACL lives in the api stack and this stack does not exist. Stateless.
 */
export class EdgeStack extends Stack {
  public readonly webAcl: VodstackWebAcl;

  constructor(scope: Construct, id: string, props: EdgeStackProps = {}) {
    const { rateLimits, ...stackProps } = props;
    super(scope, id, { description: 'vodstack: the CloudFront web ACL (WAF), which must live in us-east-1', ...stackProps });
    this.webAcl = new VodstackWebAcl(this, 'CdnWebAcl', { scope: 'CLOUDFRONT', rateLimits });
    new CfnOutput(this, 'CdnWebAclArn', { value: this.webAcl.arn });
  }
}
