import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PowertoolsEnvironment } from '#contracts/metrics';
import { PlaybackPaths } from '#contracts/playback';
import { SyncPlaybackKeyProperties } from '#handlers/events/sync-playback-key';
import { API_PATH, MediaPaths, PLAYBACK_ACCESS_FUNCTION } from '#lib/constructs/delivery';
import { SYNC_PLAYBACK_KEY_HANDLER } from '#lib/constructs/playback-key';
import { Metadata, ResourceRole } from '#lib/metadata';
import {
  actionsOf,
  functionStatements,
  onlyResource,
  resourcesOfType,
  synthesize,
  type CfnResourceJson,
  type Synthesized,
} from './support.ts';

/** CloudFront's managed policies, by the ids every account shares. */
const Managed = {
  cachingDisabled: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
  cachingOptimized: '658327ea-f89d-4fab-a63d-7e88639e58f6',
  allViewerExceptHostHeader: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
} as const;

const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000';

let synth: Synthesized;
let distributionId: string;
let config: Record<string, any>;
beforeAll(() => {
  synth = synthesize();
  const [id, distribution] = onlyResource(synth.api, 'AWS::CloudFront::Distribution');
  distributionId = id;
  config = distribution.Properties!.DistributionConfig;
});

const behaviors = (): Record<string, any>[] => config.CacheBehaviors;
const behavior = (pattern: string): Record<string, any> => {
  const found = behaviors().find((b) => b.PathPattern === pattern);
  if (!found) throw new Error(`no behaviour for ${pattern}`);
  return found;
};
const mediaBehaviors = () => behaviors().filter((b) => (b.PathPattern as string).startsWith(PlaybackPaths.prefix));
const origin = (id: string): Record<string, any> => config.Origins.find((o: { Id: string }) => o.Id === id);
const refOf = (value: unknown): string => (value as { Ref: string }).Ref;
const resource = (id: string): CfnResourceJson => synth.api.toJSON().Resources[id];

/** The logical id of the CloudFront function a behaviour runs on viewer request, if any. */
function viewerRequestFunction(b: Record<string, any>): string | undefined {
  const associations = (b.FunctionAssociations ?? []) as { EventType: string; FunctionARN: { 'Fn::GetAtt': [string, string] } }[];
  expect(associations.length).toBeLessThanOrEqual(1);
  const [association] = associations;
  if (!association) return undefined;
  expect(association.EventType).toBe('viewer-request');
  return association.FunctionARN['Fn::GetAtt'][0];
}

describe('Delivery: media under /v/', () => {
  it('serves manifests, the storyboard index and then everything else under /v/, most specific first', () => {
    const patterns = behaviors().map((b) => b.PathPattern as string);
    expect(mediaBehaviors().map((b) => b.PathPattern)).toEqual([...MediaPaths.manifests, MediaPaths.rest]);
    expect(MediaPaths.manifests).toEqual(['/v/*.m3u8', '/v/*.mpd', '/v/*.vtt']);
    for (const manifest of MediaPaths.manifests) expect(patterns.indexOf(manifest)).toBeLessThan(patterns.indexOf('/v/*'));
  });

  it('runs the playback-access function, with the signing-key store, on every media behaviour', () => {
    const functionIds = new Set(mediaBehaviors().map(viewerRequestFunction));
    expect(functionIds.size).toBe(1);
    const [functionId] = [...functionIds] as [string];
    const fn = resource(functionId);
    expect(fn.Type).toBe('AWS::CloudFront::Function');
    expect(fn.Properties!.FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
    expect(fn.Properties!.FunctionCode).toBe(readFileSync(PLAYBACK_ACCESS_FUNCTION, 'utf8'));
    expect(fn.Properties!.AutoPublish).toBe(true);
    const [storeId] = onlyResource(synth.api, 'AWS::CloudFront::KeyValueStore');
    expect(fn.Properties!.FunctionConfig.KeyValueStoreAssociations).toEqual([{ KeyValueStoreARN: { 'Fn::GetAtt': [storeId, 'Arn'] } }]);
  });

  it('reads the media bucket through origin access control, on GET/HEAD/OPTIONS only', () => {
    const originIds = new Set(mediaBehaviors().map((b) => b.TargetOriginId as string));
    expect(originIds.size).toBe(1);
    const media = origin([...originIds][0]!);
    expect(JSON.stringify(media.DomainName)).toMatch(/"StackName":"Vodstack-Data".*MediaBucketsMedia.*RegionalDomainName/);
    expect(media.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    expect(resource(media.OriginAccessControlId['Fn::GetAtt'][0]).Properties!.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });
    for (const b of mediaBehaviors()) {
      expect(b.AllowedMethods, b.PathPattern).toEqual(['GET', 'HEAD', 'OPTIONS']);
      expect(b.CachedMethods, b.PathPattern).toEqual(['GET', 'HEAD']);
      expect(b.ViewerProtocolPolicy, b.PathPattern).toBe('redirect-to-https');
    }
  });

  it('caches manifests briefly and compressed, segments for as long as the origin says (a year)', () => {
    const policy = (b: Record<string, any>) => resource(refOf(b.CachePolicyId)).Properties!.CachePolicyConfig;
    for (const pattern of MediaPaths.manifests) {
      const manifests = policy(behavior(pattern));
      expect(manifests, pattern).toMatchObject({ MinTTL: 0, DefaultTTL: 60 });
      expect(manifests.MaxTTL, pattern).toBeLessThanOrEqual(300);
      expect(manifests.ParametersInCacheKeyAndForwardedToOrigin).toMatchObject({ EnableAcceptEncodingGzip: true, EnableAcceptEncodingBrotli: true });
      expect(behavior(pattern).Compress, pattern).toBe(true);
    }
    const segments = policy(behavior(MediaPaths.rest));
    // MinTTL 0 honours the origin's Cache-Control; MaxTTL lets `max-age=31536000, immutable` stand.
    expect(segments).toMatchObject({ MinTTL: 0, MaxTTL: 31_536_000 });
    expect(segments.DefaultTTL).toBeGreaterThanOrEqual(86_400);
    expect(behavior(MediaPaths.rest).Compress).toBe(false);
  });

  it('keys the media cache on the path alone: no query string, cookie or header', () => {
    for (const b of mediaBehaviors()) {
      const keyed = resource(refOf(b.CachePolicyId)).Properties!.CachePolicyConfig.ParametersInCacheKeyAndForwardedToOrigin;
      expect(keyed.QueryStringsConfig, b.PathPattern).toEqual({ QueryStringBehavior: 'none' });
      expect(keyed.CookiesConfig, b.PathPattern).toEqual({ CookieBehavior: 'none' });
      expect(keyed.HeadersConfig, b.PathPattern).toEqual({ HeaderBehavior: 'none' });
      expect(b.OriginRequestPolicyId, b.PathPattern).toBeUndefined();
    }
  });

  it('answers media cross-origin: any origin, GET/HEAD, Content-Length and Content-Range exposed', () => {
    const policyIds = new Set(mediaBehaviors().map((b) => refOf(b.ResponseHeadersPolicyId)));
    expect(policyIds.size).toBe(1);
    const cors = resource([...policyIds][0]!).Properties!.ResponseHeadersPolicyConfig.CorsConfig;
    expect(cors).toMatchObject({
      AccessControlAllowCredentials: false,
      AccessControlAllowOrigins: { Items: ['*'] },
      AccessControlAllowMethods: { Items: ['GET', 'HEAD'] },
      AccessControlExposeHeaders: { Items: expect.arrayContaining(['Content-Length', 'Content-Range']) },
      OriginOverride: true,
    });
  });
});

describe('Delivery: the API under /api/', () => {
  it('forwards /api/* uncached to the REST API stage, with every viewer header but Host', () => {
    const api = behavior(API_PATH);
    expect(api).toMatchObject({
      CachePolicyId: Managed.cachingDisabled,
      OriginRequestPolicyId: Managed.allViewerExceptHostHeader,
      AllowedMethods: expect.arrayContaining(['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE']),
      ViewerProtocolPolicy: 'https-only',
    });
    expect(api.AllowedMethods).toHaveLength(7);
    expect(viewerRequestFunction(api)).toBeUndefined();
    const [restApiId] = onlyResource(synth.api, 'AWS::ApiGateway::RestApi');
    const target = origin(api.TargetOriginId);
    expect(target.DomainName).toEqual({ 'Fn::Join': ['', [{ Ref: restApiId }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] });
    // A literal stage: a reference to the stage resource would close a loop through every route function.
    expect(target.OriginPath).toBe('/prod');
    expect(target.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] });
  });
});

describe('Delivery: the web app', () => {
  it('serves the default behaviour from its own private bucket through origin access control', () => {
    const web = config.DefaultCacheBehavior;
    expect(web.CachePolicyId).toBe(Managed.cachingOptimized);
    expect(web.AllowedMethods).toEqual(['GET', 'HEAD']);
    const target = origin(web.TargetOriginId);
    const bucketId = target.DomainName['Fn::GetAtt'][0] as string;
    const bucket = resource(bucketId);
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.Metadata?.[Metadata.resource]).toBe(ResourceRole.webAppBucket);
    expect(bucket.Properties!.PublicAccessBlockConfiguration).toMatchObject({ BlockPublicAcls: true, RestrictPublicBuckets: true });
    expect(target.OriginAccessControlId).toBeDefined();
    expect(config.DefaultRootObject).toBe('index.html');

    // The bucket admits CloudFront for this distribution only.
    const [, policy] = Object.entries(resourcesOfType(synth.api, 'AWS::S3::BucketPolicy')).find(([, p]) => p.Properties!.Bucket.Ref === bucketId)!;
    const grant = (policy.Properties!.PolicyDocument.Statement as Record<string, any>[]).find((s) => s.Effect === 'Allow')!;
    expect(grant).toMatchObject({ Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' });
    expect(JSON.stringify(grant.Condition.StringEquals['AWS:SourceArn'])).toContain(`{"Ref":"${distributionId}"}`);
  });

  it('answers app routes with index.html by a viewer-request function, never by distribution-wide error pages', () => {
    expect(config.CustomErrorResponses).toBeUndefined();
    const fn = resource(viewerRequestFunction(config.DefaultCacheBehavior)!);
    expect(fn.Properties!.FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
    const handler = new Function(`${fn.Properties!.FunctionCode as string}; return handler;`)() as (event: unknown) => { uri: string };
    const uriFor = (uri: string) => handler({ request: { uri, method: 'GET', headers: {}, querystring: {}, cookies: {} } }).uri;
    expect(uriFor('/')).toBe('/index.html');
    expect(uriFor('/watch/abc123def45')).toBe('/index.html');
    expect(uriFor('/me/videos')).toBe('/index.html');
    expect(uriFor('/assets/index-3f2a.js')).toBe('/assets/index-3f2a.js');
    expect(uriFor('/config.json')).toBe('/config.json');
    expect(uriFor('/favicon.svg')).toBe('/favicon.svg');
  });

  it('deploys hashed assets as immutable and kept, the rest revalidated and invalidated, and config.json from deploy-time values', () => {
    const deployments = Object.values(resourcesOfType(synth.api, 'Custom::CDKBucketDeployment'));
    expect(deployments).toHaveLength(2);
    const assets = deployments.find((d) => d.Properties!.DestinationBucketKeyPrefix === 'assets/')!;
    const files = deployments.find((d) => d !== assets)!;
    expect(assets.Properties).toMatchObject({
      Prune: false,
      RetainOnDelete: false,
      SystemMetadata: { 'cache-control': 'public, max-age=31536000, immutable' },
    });
    expect(files.Properties).toMatchObject({
      Prune: true,
      RetainOnDelete: false,
      Exclude: ['assets/*'],
      SystemMetadata: { 'cache-control': 'no-cache' },
      DistributionId: { Ref: distributionId },
      DistributionPaths: ['/*'],
    });
    expect(JSON.stringify(files.Properties!.SourceMarkers)).toMatch(/"StackName":"Vodstack-Auth".*UserAccounts.*"StackName":"Vodstack-Auth".*UserAccountsWebClient/);

    // What each one uploads, from the staged assets.
    const staged = (deployment: CfnResourceJson): string[] =>
      (deployment.Properties!.SourceObjectKeys as string[]).flatMap((key) => {
        const dir = path.join(synth.app.outdir, `asset.${key.replace(/\.zip$/, '')}`);
        return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
      });
    expect(staged(assets)).toEqual(['index-fixture.js']);
    expect(staged(files)).toContain('index.html');
    expect(staged(files).some((f) => f.startsWith('assets'))).toBe(false);
    const config = readFileSync(
      path.join(synth.app.outdir, `asset.${(files.Properties!.SourceObjectKeys as string[])[1]!.replace(/\.zip$/, '')}`, 'config.json'),
      'utf8',
    );
    expect(Object.keys(JSON.parse(config) as object).sort()).toEqual(['region', 'userPoolClientId', 'userPoolId']);
    expect(JSON.parse(config)).toMatchObject({ region: 'eu-west-1' });
  });
});

describe('Delivery: the distribution', () => {
  it('speaks HTTP/2 and HTTP/3 over IPv4 and IPv6, and writes standard logs to the CDN-log bucket', () => {
    expect(config).toMatchObject({ HttpVersion: 'http2and3', IPV6Enabled: true, Enabled: true });
    expect(config.Logging.Prefix).toBe('cloudfront/');
    expect(JSON.stringify(config.Logging.Bucket)).toMatch(/"StackName":"Vodstack-Data".*MediaBucketsCdnLogs.*RegionalDomainName/);
  });

  it('sends security headers everywhere, with a CSP for the app, its media, Cognito and S3 part uploads', () => {
    const policyIds = new Set([config.DefaultCacheBehavior, ...behaviors()].map((b) => refOf(b.ResponseHeadersPolicyId)));
    expect(policyIds.size).toBe(2); // one for the app and the API, one for media (with CORS)
    for (const id of policyIds) {
      const headers = resource(id).Properties!.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
      expect(headers.StrictTransportSecurity).toMatchObject({ IncludeSubdomains: true, Override: true });
      expect(headers.StrictTransportSecurity.AccessControlMaxAgeSec).toBeGreaterThanOrEqual(31_536_000);
      expect(headers.ContentTypeOptions).toEqual({ Override: true });
      expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
      expect(headers.ReferrerPolicy).toEqual({ ReferrerPolicy: 'strict-origin-when-cross-origin', Override: true });
      const csp = flattenJoin(headers.ContentSecurityPolicy.ContentSecurityPolicy);
      const directives = Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
      expect(directives['default-src']).toEqual(["'self'"]);
      expect(directives['script-src']).toEqual(["'self'"]);
      expect(directives['media-src']).toEqual(["'self'", 'blob:']);
      expect(directives['connect-src']).toEqual([
        "'self'",
        'https://cognito-idp.eu-west-1.<AWS::URLSuffix>',
        'https://*.s3.eu-west-1.<AWS::URLSuffix>',
      ]);
      expect(directives['frame-ancestors']).toEqual(["'none'"]);
    }
  });

  it('uses the default certificate unless a domain is given, then TLS 1.2 (2021) at least, with SNI', () => {
    expect(config.ViewerCertificate).toBeUndefined();
    expect(config.Aliases).toBeUndefined();
    const custom = synthesize({ domainName: 'video.example.com', certificateArn: CERTIFICATE_ARN });
    const [, distribution] = onlyResource(custom.api, 'AWS::CloudFront::Distribution');
    expect(distribution.Properties!.DistributionConfig).toMatchObject({
      Aliases: ['video.example.com'],
      ViewerCertificate: { AcmCertificateArn: CERTIFICATE_ARN, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' },
    });
    expect(custom.api.toJSON().Outputs.CdnUrl.Value).toBe('https://video.example.com');
  });

  it('outputs its URL', () => {
    expect(synth.api.toJSON().Outputs.CdnUrl.Value).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }]] });
    expect(resource(distributionId).Metadata?.[Metadata.resource]).toBe(ResourceRole.distribution);
  });
});

describe('Delivery: the edge copy of the signing key', () => {
  it('is written by a custom resource, from the secret into the store, before the distribution goes live', () => {
    const [syncId, sync] = onlyResource(synth.api, 'Custom::PlaybackKeySync');
    const [storeId] = onlyResource(synth.api, 'AWS::CloudFront::KeyValueStore');
    expect(Object.keys(sync.Properties!).filter((k) => k !== 'ServiceToken').sort()).toEqual(Object.keys(SyncPlaybackKeyProperties.shape).sort());
    expect(sync.Properties!.KeyValueStoreArn).toEqual({ 'Fn::GetAtt': [storeId, 'Arn'] });
    expect(sync.Properties!.SecretId['Fn::GetStackOutput']).toMatchObject({ StackName: 'Vodstack-Data' });
    expect(sync.Properties!.SecretId['Fn::GetStackOutput'].OutputName).toMatch(/PlaybackKey/);
    expect([resource(distributionId).DependsOn].flat()).toContain(syncId);
  });

  it('runs the sync handler, which may read the secret and write only this store', () => {
    const [, syncFn] = Object.entries(resourcesOfType(synth.api, 'AWS::Lambda::Function')).find(
      ([, fn]) => fn.Metadata?.[Metadata.handler] === SYNC_PLAYBACK_KEY_HANDLER,
    )!;
    const statements = functionStatements(synth.api, syncFn);
    const [storeId] = onlyResource(synth.api, 'AWS::CloudFront::KeyValueStore');
    const kvs = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('cloudfront-keyvaluestore:')));
    expect(kvs).toHaveLength(1);
    expect(actionsOf(kvs[0]!).sort()).toEqual(['cloudfront-keyvaluestore:DescribeKeyValueStore', 'cloudfront-keyvaluestore:PutKey']);
    expect(kvs[0]!.Resource).toEqual({ 'Fn::GetAtt': [storeId, 'Arn'] });
    const secret = statements.filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    expect(secret).toHaveLength(1);
    expect(secret[0]!.Resource).toEqual({ 'Fn::GetStackOutput': expect.objectContaining({ StackName: 'Vodstack-Data' }) });
    expect(syncFn.Properties!.Runtime).toBe('nodejs22.x');
    // Nothing but source maps and the logger's settings: the key is read at run time, never put in its environment.
    expect(syncFn.Properties!.Environment.Variables).toEqual({ NODE_OPTIONS: '--enable-source-maps', ...PowertoolsEnvironment });
  });
});

describe('the api stack', () => {
  it('has no dependency cycle among its resources (CloudFormation would refuse it; CDK does not check)', () => {
    for (const context of [{}, { domainName: 'video.example.com', certificateArn: CERTIFICATE_ARN }]) {
      const template = synthesize(context).api.toJSON() as { Resources: Record<string, { Properties?: unknown; DependsOn?: string | string[] }> };
      expect(findCycle(template.Resources)).toBeUndefined();
    }
  });

  it('synthesizes with strong cross-stack references too (exports instead of stack outputs)', () => {
    const strong = synthesize({ '@aws-cdk/core:defaultCrossStackReferences': 'strong' });
    expect(JSON.stringify(onlyResource(strong.api, 'AWS::CloudFront::Distribution')[1])).toContain('Fn::ImportValue');
  });
});

/** `Fn::Join` of strings and `Ref`s as one string, refs shown as `<Name>`. */
function flattenJoin(value: unknown): string {
  if (typeof value === 'string') return value;
  const [separator, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return parts.map((p) => (typeof p === 'string' ? p : `<${(p as { Ref: string }).Ref}>`)).join(separator);
}

/** A dependency cycle (by `Ref`, `Fn::GetAtt`, `DependsOn`), as a path of logical ids. */
function findCycle(resources: Record<string, { Properties?: unknown; DependsOn?: string | string[] }>): string[] | undefined {
  const edges = new Map<string, Set<string>>();
  for (const [id, r] of Object.entries(resources)) {
    const out = new Set<string>([r.DependsOn ?? []].flat());
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (!v || typeof v !== 'object') return;
      for (const [k, x] of Object.entries(v)) {
        if (k === 'Ref' && typeof x === 'string' && x in resources) out.add(x);
        else if (k === 'Fn::GetAtt') out.add(Array.isArray(x) ? String(x[0]) : String(x).split('.')[0]!);
        else walk(x);
      }
    };
    walk(r.Properties);
    edges.set(id, out);
  }
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (done.has(id)) return undefined;
    const at = path.indexOf(id);
    if (at >= 0) return [...path.slice(at), id];
    path.push(id);
    for (const next of edges.get(id) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(id);
    return undefined;
  };
  for (const id of edges.keys()) {
    const cycle = visit(id);
    if (cycle) return cycle;
  }
  return undefined;
}
