import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CompleteUploadRequest } from '#contracts/api';
import { COMMON_RULES_COUNTED, MANAGED_RULE_GROUPS, VodstackWebAcl, WebAclDefaults } from '#lib/constructs/web-acl';
import { StackNames } from '#lib/metadata';
import { resourcesOfType, synthesize, type CfnResourceJson, type Synthesized } from './support.ts';

const WEB_ACL = 'AWS::WAFv2::WebACL';

/** The one web ACL of `scope` in a template. */
function webAcl(template: Template, scope: 'REGIONAL' | 'CLOUDFRONT'): [string, CfnResourceJson] {
  const found = Object.entries(resourcesOfType(template, WEB_ACL)).filter(([, r]) => r.Properties!.Scope === scope);
  expect(found, scope).toHaveLength(1);
  return found[0]!;
}

interface Rule {
  Name: string;
  Priority: number;
  Action?: Record<string, unknown>;
  OverrideAction?: Record<string, unknown>;
  Statement: Record<string, any>;
}

function rules(acl: CfnResourceJson): Rule[] {
  return acl.Properties!.Rules as Rule[];
}

function expectManagedGroups(acl: CfnResourceJson): void {
  const managed = rules(acl).filter((r) => r.Statement.ManagedRuleGroupStatement);
  expect(managed.map((r) => r.Statement.ManagedRuleGroupStatement.Name).sort()).toEqual([...MANAGED_RULE_GROUPS].sort());
  for (const rule of managed) {
    expect(rule.Statement.ManagedRuleGroupStatement.VendorName).toBe('AWS');
    // The group's own actions apply (block), not a blanket count.
    expect(rule.OverrideAction).toEqual({ None: {} });
  }
  const common = managed.find((r) => r.Statement.ManagedRuleGroupStatement.Name === 'AWSManagedRulesCommonRuleSet')!;
  expect(common.Statement.ManagedRuleGroupStatement.RuleActionOverrides).toEqual(
    COMMON_RULES_COUNTED.map((name) => ({ Name: name, ActionToUse: { Count: {} } })),
  );
}

/** Rate rules by name, each checked to block per source IP over five minutes before any managed group runs. */
function rateRules(acl: CfnResourceJson): Map<string, Record<string, any>> {
  const all = rules(acl);
  const firstManaged = Math.min(...all.filter((r) => r.Statement.ManagedRuleGroupStatement).map((r) => r.Priority));
  const byName = new Map<string, Record<string, any>>();
  for (const rule of all.filter((r) => r.Statement.RateBasedStatement)) {
    expect(rule.Action, rule.Name).toEqual({ Block: {} });
    expect(rule.Priority, rule.Name).toBeLessThan(firstManaged);
    const statement = rule.Statement.RateBasedStatement;
    expect(statement.AggregateKeyType, rule.Name).toBe('IP');
    expect(statement.EvaluationWindowSec, rule.Name).toBe(300);
    byName.set(rule.Name, statement);
  }
  return byName;
}

/** Checks the web ACL logs to an `aws-waf-logs-` group encrypted with a rotating key, without the Authorization header. */
function expectEncryptedLogs(template: Template, aclId: string): void {
  const configs = Object.values(resourcesOfType(template, 'AWS::WAFv2::LoggingConfiguration')).filter(
    (c) => JSON.stringify(c.Properties!.ResourceArn) === JSON.stringify({ 'Fn::GetAtt': [aclId, 'Arn'] }),
  );
  expect(configs, aclId).toHaveLength(1);
  const config = configs[0]!.Properties!;
  expect(config.RedactedFields).toEqual([{ SingleHeader: { Name: 'authorization' } }]);
  const destination = JSON.stringify(config.LogDestinationConfigs);
  const groups = resourcesOfType(template, 'AWS::Logs::LogGroup');
  const [groupId, group] = Object.entries(groups).find(([id]) => destination.includes(`"Ref":"${id}"`))!;
  expect(destination, 'the log group ARN, without the :* suffix').not.toContain(':*');
  expect(group.Properties!.LogGroupName, groupId).toMatch(/^aws-waf-logs-/);
  const keyId = group.Properties!.KmsKeyId['Fn::GetAtt'][0] as string;
  expect(resourcesOfType(template, 'AWS::KMS::Key')[keyId]!.Properties!.EnableKeyRotation).toBe(true);
}

describe('WAF, app outside us-east-1 (eu-west-1)', () => {
  let synth: Synthesized;
  let edge: Template;
  beforeAll(() => {
    synth = synthesize();
    expect(synth.stacks.edge).toBeDefined();
    edge = Template.fromStack(synth.stacks.edge!);
  });

  it('puts the CloudFront web ACL in its own stack in us-east-1, and none in the api stack', () => {
    expect(synth.stacks.edge!.region).toBe('us-east-1');
    expect(synth.stacks.edge!.stackName).toBe(StackNames.edge);
    webAcl(edge, 'CLOUDFRONT');
    expect(Object.values(resourcesOfType(synth.api, WEB_ACL)).map((r) => r.Properties!.Scope)).toEqual(['REGIONAL']);
    expect(synth.stacks.api.dependencies).toContain(synth.stacks.edge);
  });

  it('attaches the CloudFront web ACL to the distribution, read across regions from the edge stack', () => {
    const [, distribution] = Object.entries(resourcesOfType(synth.api, 'AWS::CloudFront::Distribution'))[0]!;
    const [aclId] = webAcl(edge, 'CLOUDFRONT');
    expect(distribution.Properties!.DistributionConfig.WebACLId).toEqual({
      'Fn::GetStackOutput': { StackName: StackNames.edge, Region: 'us-east-1', OutputName: expect.stringContaining(aclId) },
    });
  });

  it('associates the regional web ACL with the API stage', () => {
    const [aclId] = webAcl(synth.api, 'REGIONAL');
    const associations = Object.values(resourcesOfType(synth.api, 'AWS::WAFv2::WebACLAssociation'));
    expect(associations).toHaveLength(1);
    const { ResourceArn, WebACLArn } = associations[0]!.Properties!;
    expect(WebACLArn).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
    const [apiId] = Object.keys(resourcesOfType(synth.api, 'AWS::ApiGateway::RestApi'));
    const [stageId] = Object.keys(resourcesOfType(synth.api, 'AWS::ApiGateway::Stage'));
    expect(ResourceArn).toEqual({
      'Fn::Join': ['', ['arn:aws:apigateway:eu-west-1::/restapis/', { Ref: apiId }, '/stages/', { Ref: stageId }]],
    });
  });

  it('runs the AWS managed groups (IP reputation, common rules, known bad inputs) on both, allowing everything else', () => {
    for (const [template, scope] of [
      [synth.api, 'REGIONAL'],
      [edge, 'CLOUDFRONT'],
    ] as const) {
      const [, acl] = webAcl(template, scope);
      expect(acl.Properties!.DefaultAction).toEqual({ Allow: {} });
      expectManagedGroups(acl);
    }
  });

  it('limits every viewer IP at the CDN, and API calls per viewer IP more tightly', () => {
    const limits = rateRules(webAcl(edge, 'CLOUDFRONT')[1]);
    expect([...limits.keys()].sort()).toEqual(['RateLimitAll', 'RateLimitApi']);
    expect(limits.get('RateLimitAll')!.Limit).toBe(WebAclDefaults.requestsPerIp);
    expect(limits.get('RateLimitAll')!.ScopeDownStatement).toBeUndefined();
    const api = limits.get('RateLimitApi')!;
    expect(api.Limit).toBe(WebAclDefaults.apiRequestsPerIp);
    expect(api.ScopeDownStatement).toEqual({
      ByteMatchStatement: {
        FieldToMatch: { UriPath: {} },
        PositionalConstraint: 'STARTS_WITH',
        SearchString: '/api/v1/',
        TextTransformations: [{ Priority: 0, Type: 'NONE' }],
      },
    });
  });

  it('limits each connecting address at the stage with the overall limit (CloudFront edges carry many viewers)', () => {
    const limits = rateRules(webAcl(synth.api, 'REGIONAL')[1]);
    expect([...limits.keys()]).toEqual(['RateLimitAll']);
    expect(limits.get('RateLimitAll')!.Limit).toBe(WebAclDefaults.requestsPerIp);
    expect(limits.get('RateLimitAll')!.ForwardedIPConfig).toBeUndefined();
  });

  it('logs both web ACLs to encrypted aws-waf-logs- groups, with the Authorization header redacted', () => {
    expectEncryptedLogs(synth.api, webAcl(synth.api, 'REGIONAL')[0]);
    expectEncryptedLogs(edge, webAcl(edge, 'CLOUDFRONT')[0]);
  });

  it('counts the common rule that would refuse a legitimate complete-upload body (over 8 KB)', () => {
    // The largest body the API accepts for a 1,000-part upload, with S3-shaped ETags.
    const body = { parts: Array.from({ length: 1000 }, (_, i) => ({ partNumber: i + 1, etag: `"${'0123456789abcdef'.repeat(2)}"` })) };
    expect(CompleteUploadRequest.safeParse(body).success).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(body))).toBeGreaterThan(8 * 1024);
    expect(COMMON_RULES_COUNTED).toContain('SizeRestrictions_BODY');
  });
});

describe('WAF, app in us-east-1', () => {
  it('keeps both web ACLs in the api stack and makes no edge stack', () => {
    const app = synthesize({}, { env: { region: 'us-east-1' } });
    expect(app.stacks.edge).toBeUndefined();
    expect(app.app.node.tryFindChild(StackNames.edge)).toBeUndefined();
    const [cdnId, cdn] = webAcl(app.api, 'CLOUDFRONT');
    webAcl(app.api, 'REGIONAL');
    expectManagedGroups(cdn);
    const [, distribution] = Object.entries(resourcesOfType(app.api, 'AWS::CloudFront::Distribution'))[0]!;
    expect(distribution.Properties!.DistributionConfig.WebACLId).toEqual({ 'Fn::GetAtt': [cdnId, 'Arn'] });
    expectEncryptedLogs(app.api, cdnId);
  });
});

describe('WAF context', () => {
  const ARN = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/corporate-edge/0a1b2c3d-0000-4000-8000-000000000000';

  it('uses a given CloudFront web ACL and makes none of its own', () => {
    const app = synthesize({ cloudFrontWebAclArn: ARN });
    expect(app.stacks.edge).toBeUndefined();
    expect(Object.values(resourcesOfType(app.api, WEB_ACL)).map((r) => r.Properties!.Scope)).toEqual(['REGIONAL']);
    const [, distribution] = Object.entries(resourcesOfType(app.api, 'AWS::CloudFront::Distribution'))[0]!;
    expect(distribution.Properties!.DistributionConfig.WebACLId).toBe(ARN);
  });

  it('rejects a web ACL ARN that is not CloudFront-scoped in us-east-1', () => {
    expect(() => synthesize({ cloudFrontWebAclArn: ARN.replace('us-east-1', 'eu-west-1') })).toThrow(/cloudFrontWebAclArn/);
    expect(() => synthesize({ cloudFrontWebAclArn: ARN.replace('global/', 'regional/') })).toThrow(/cloudFrontWebAclArn/);
  });

  it('takes the per-IP limits from context, and refuses limits WAF would refuse', () => {
    const app = synthesize({ wafApiRequestsPerIp: 300, wafRequestsPerIp: '5000' });
    const edgeLimits = rateRules(webAcl(Template.fromStack(app.stacks.edge!), 'CLOUDFRONT')[1]);
    expect(edgeLimits.get('RateLimitApi')!.Limit).toBe(300);
    expect(edgeLimits.get('RateLimitAll')!.Limit).toBe(5000);
    expect(rateRules(webAcl(app.api, 'REGIONAL')[1]).get('RateLimitAll')!.Limit).toBe(5000);
    expect(() => synthesize({ wafApiRequestsPerIp: 5 })).toThrow(/wafApiRequestsPerIp/);
    expect(() => synthesize({ wafRequestsPerIp: 'lots' })).toThrow(/wafRequestsPerIp/);
  });

  it('refuses to build a CloudFront web ACL outside us-east-1', () => {
    const stack = new Stack(new App(), 'Elsewhere', { env: { region: 'eu-west-1' } });
    expect(() => new VodstackWebAcl(stack, 'Acl', { scope: 'CLOUDFRONT' })).toThrow(/us-east-1/);
  });
});
