import { ArnFormat, Aws, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnLoggingConfiguration, CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { API_PREFIX } from '#contracts/routes';

/** Where a web ACL applies: a regional resource (the API stage) or CloudFront (us-east-1 only). */
export type WebAclScope = 'REGIONAL' | 'CLOUDFRONT';

/**
 * Per-IP request limits, counted by WAF over a sliding five-minute window (its smallest
 * allowed limit is 10). Above a limit, that address gets `403` until its rate falls again.
 */
export interface WebAclRateLimits {
  /**
   * Requests to the API (`/api/v1/*`) per viewer IP (CloudFront web ACL only: the API stage sees CloudFront's
   * addresses, not viewers', see {@link VodstackWebAcl}).
   * @default WebAclDefaults.apiRequestsPerIp
   */
  readonly apiRequestsPerIp?: number;
  /**
   * All requests per source IP (web app, media and API; on the stage, per caller address).
   * @default WebAclDefaults.requestsPerIp
   */
  readonly requestsPerIp?: number;
}

/**
 * Defaults of {@link WebAclRateLimits}. Sized for people, not for bots: the web app makes a few
 * API calls per page and the player asks for a new stream URL about once an hour, so 1,000 API
 * requests in five minutes (3.3/s sustained) is far above one person; a player fetches one or two
 * segments a second, so 10,000 requests in five minutes leaves room for a household or office
 * behind one address watching at once.
 */
export const WebAclDefaults = { apiRequestsPerIp: 1000, requestsPerIp: 10_000 } as const;

/**
 * Rules of the AWS Common Rule Set switched to `count` (logged, not blocked), with why:
 * - `SizeRestrictions_BODY` blocks bodies over 8 KB. `POST .../upload/complete` lists every part
 *   (`{partNumber, etag}`, about 60 bytes each, up to 1,000 parts: ~60 KB), so it would refuse
 *   every upload of more than ~130 parts. The handlers cap each body with zod; media never passes
 *   here (parts and posters go straight to S3 on presigned URLs).
 * - `CrossSiteScripting_BODY` blocks bodies that look like HTML. Titles, descriptions and display
 *   names are stored as sent and rendered escaped (`docs/security.md`), so a description that
 *   quotes `<script>` is harmless text; blocking it would reject a legitimate edit with a bare 403.
 */
export const COMMON_RULES_COUNTED = ['SizeRestrictions_BODY', 'CrossSiteScripting_BODY'] as const;

/**
 * The AWS managed rule groups every web ACL runs, in priority order. No SQL-injection set: no
 * component speaks SQL (DynamoDB items are built from allow-listed fields, OpenSearch queries are
 * structured JSON), and its body and query rules would block searches and titles that merely
 * contain SQL words.
 */
export const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesAmazonIpReputationList',
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
] as const;

/** Props of {@link VodstackWebAcl}. */
export interface VodstackWebAclProps {
  /** `REGIONAL` for the API stage; `CLOUDFRONT` for the distribution (the stack must be in us-east-1). */
  readonly scope: WebAclScope;
  /**
   * Per-IP limits.
   * @default WebAclDefaults
   */
  readonly rateLimits?: WebAclRateLimits;
  /**
   * Key that encrypts the WAF log group; its policy must admit CloudWatch Logs of this region.
   * @default - a new customer-managed key with yearly rotation that admits CloudWatch Logs
   */
  readonly logEncryptionKey?: IKey;
  /**
   * How long WAF logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

/**
 * A WAFv2 web ACL: allow by default; AWS managed rule groups (IP reputation, the Common Rule Set
 * with {@link COMMON_RULES_COUNTED} counted, known bad inputs); per-IP rate-based rules; and full
 * logs to an encrypted CloudWatch log group named `aws-waf-logs-…` (the prefix WAF requires), with
 * the `Authorization` header redacted so bearer tokens never reach the logs.
 *
 * Rate rules and where the address comes from:
 * - `CLOUDFRONT`: the viewer's own address. `RateLimitApi` counts the API's paths (`/api/v1/`), `RateLimitAll` counts
 *   everything.
 * - `REGIONAL` (the API stage): requests through the CDN arrive from CloudFront's edge addresses,
 *   many viewers per address, and `X-Forwarded-For` is written by the caller first (WAF reads its
 *   first address), so a forwarded-IP key is trivially forged. `RateLimitAll` therefore counts the
 *   connecting address with the larger limit: it stops a client calling the stage directly,
 *   without throttling the CDN; per-viewer limits live on the CloudFront web ACL.
 */
export class VodstackWebAcl extends Construct {
  /** The web ACL (construct id `Resource`). */
  public readonly webAcl: CfnWebACL;
  /** Where WAF writes its logs. */
  public readonly logGroup: LogGroup;
  public readonly scope: WebAclScope;

  constructor(scope: Construct, id: string, props: VodstackWebAclProps) {
    super(scope, id);
    this.scope = props.scope;
    const stack = Stack.of(this);
    if (props.scope === 'CLOUDFRONT' && !Token.isUnresolved(stack.region) && stack.region !== 'us-east-1') {
      throw new Error(`${this.node.path}: a CLOUDFRONT web ACL must be created in us-east-1, not ${stack.region}`);
    }
    const limits = { ...WebAclDefaults, ...props.rateLimits };
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 10) throw new Error(`${this.node.path}: rate limit ${name} must be a whole number ≥ 10, got ${value}`);
    }
    const metric = (name: string) => ({ cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: `vodstack-${name}` });

    const managed: CfnWebACL.RuleProperty[] = MANAGED_RULE_GROUPS.map((name, i) => ({
      name,
      priority: 10 + i,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name,
          ...(name === 'AWSManagedRulesCommonRuleSet'
            ? { ruleActionOverrides: COMMON_RULES_COUNTED.map((rule) => ({ name: rule, actionToUse: { count: {} } })) }
            : {}),
        },
      },
      visibilityConfig: metric(name),
    }));
    const rateRules: CfnWebACL.RuleProperty[] = [
      {
        name: 'RateLimitAll',
        priority: 1,
        action: { block: {} },
        statement: { rateBasedStatement: { aggregateKeyType: 'IP', limit: limits.requestsPerIp, evaluationWindowSec: 300 } },
        visibilityConfig: metric('rate-all'),
      },
    ];
    if (props.scope === 'CLOUDFRONT') {
      rateRules.push({
        name: 'RateLimitApi',
        priority: 2,
        action: { block: {} },
        statement: {
          rateBasedStatement: {
            aggregateKeyType: 'IP',
            limit: limits.apiRequestsPerIp,
            evaluationWindowSec: 300,
            scopeDownStatement: {
              byteMatchStatement: {
                fieldToMatch: { uriPath: {} },
                positionalConstraint: 'STARTS_WITH',
                searchString: `${API_PREFIX}/`,
                textTransformations: [{ priority: 0, type: 'NONE' }],
              },
            },
          },
        },
        visibilityConfig: metric('rate-api'),
      });
    }

    this.webAcl = new CfnWebACL(this, 'Resource', {
      description: `vodstack: managed rule groups and per-IP rate limits for the ${props.scope === 'CLOUDFRONT' ? 'CloudFront distribution' : 'API stage'}`,
      scope: props.scope,
      defaultAction: { allow: {} },
      rules: [...rateRules, ...managed],
      visibilityConfig: metric(props.scope === 'CLOUDFRONT' ? 'cdn' : 'api'),
    });

    const key = props.logEncryptionKey ?? this.createLogKey();
    this.logGroup = new LogGroup(this, 'Logs', {
      // WAF only delivers to log groups whose name starts with `aws-waf-logs-`.
      logGroupName: `aws-waf-logs-${Names.uniqueResourceName(this, { maxLength: 200, separator: '-' }).toLowerCase()}`,
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      // The log group's ARN without the `:*` suffix `LogGroup.logGroupArn` carries.
      logDestinationConfigs: [
        stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: this.logGroup.logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      ],
      redactedFields: [{ singleHeader: { Name: 'authorization' } }],
    });
  }

  /** The web ACL's ARN (what CloudFront's `webAclId` and an association take). */
  public get arn(): string {
    return this.webAcl.attrArn;
  }

  /** Associates a regional resource (here: an API Gateway stage, by its ARN) with this web ACL. */
  public associate(id: string, resourceArn: string): CfnWebACLAssociation {
    if (this.scope !== 'REGIONAL') throw new Error(`${this.node.path}: a CLOUDFRONT web ACL is attached through the distribution's webAclId`);
    return new CfnWebACLAssociation(this, id, { resourceArn, webAclArn: this.webAcl.attrArn });
  }

  private createLogKey(): Key {
    const key = new Key(this, 'LogsKey', {
      description: 'Encrypts the vodstack WAF logs',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch Logs encrypts with the key on the log group's behalf, scoped to this account's groups.
    key.grantEncryptDecrypt(new ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)).resourceStatement?.addCondition('ArnLike', {
      'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
    });
    return key;
  }
}
