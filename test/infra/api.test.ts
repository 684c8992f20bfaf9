import { beforeAll, describe, expect, it } from 'vitest';
import { Env, PlaybackDefaults, UploadDefaults } from '#contracts/env';
import { PowertoolsEnvironment } from '#contracts/metrics';
import { routes } from '#contracts/routes';
import { LIVE_ALIAS } from '#lib/constructs/app-function';
import { Metadata } from '#lib/metadata';
import {
  onlyResource,
  resourcePaths,
  resourcesOfType,
  routeFunctions,
  synthesize,
  type CfnResourceJson,
  type Synthesized,
} from './support.ts';

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize();
});

/** The API Gateway method serving `method path`, if any. */
function findMethod(httpMethod: string, path: string): CfnResourceJson | undefined {
  const paths = resourcePaths(synth.api);
  return Object.values(resourcesOfType(synth.api, 'AWS::ApiGateway::Method')).find(
    (m) => m.Properties!.HttpMethod === httpMethod && paths.get(m.Properties!.ResourceId.Ref) === path,
  );
}

describe('VideoApi routes', () => {
  it('serves every route of the route table, and nothing else', () => {
    for (const route of routes) {
      expect(findMethod(route.method, route.path), `${route.method} ${route.path}`).toBeDefined();
    }
    const served = Object.values(resourcesOfType(synth.api, 'AWS::ApiGateway::Method')).filter(
      (m) => m.Properties!.HttpMethod !== 'OPTIONS',
    );
    expect(served).toHaveLength(routes.length);
  });

  it('requires a Cognito user-pool token on every user route', () => {
    const [authorizerId, authorizer] = onlyResource(synth.api, 'AWS::ApiGateway::Authorizer');
    expect(authorizer.Properties).toMatchObject({ Type: 'COGNITO_USER_POOLS', IdentitySource: 'method.request.header.Authorization' });
    expect(authorizer.Properties!.ProviderARNs).toHaveLength(1);
    for (const route of routes.filter((r) => r.auth === 'user')) {
      const method = findMethod(route.method, route.path)!;
      expect(method.Properties!.AuthorizationType, route.id).toBe('COGNITO_USER_POOLS');
      expect(method.Properties!.AuthorizerId, route.id).toEqual({ Ref: authorizerId });
    }
  });

  it('puts no authorizer on optional-auth routes, and hands their functions the user pool to verify a sent token', () => {
    const optional = routes.filter((r) => r.auth === 'optional');
    expect(optional.map((r) => r.id).sort()).toEqual(['GetRelated', 'GetStream', 'GetTrending', 'GetVideo', 'ListChannel', 'RecordView', 'SearchVideos']);
    for (const route of optional) {
      const method = findMethod(route.method, route.path)!;
      expect(method.Properties!.AuthorizationType, route.id).toBe('NONE');
      expect(method.Properties!.AuthorizerId, route.id).toBeUndefined();
      const [, fn] = routeFunctions(synth.api).get(route.id)!;
      const vars = fn.Properties!.Environment.Variables as Record<string, any>;
      expect(vars[Env.userPoolId]['Fn::GetStackOutput'], route.id).toMatchObject({ StackName: 'Vodstack-Auth' });
      expect(vars[Env.userPoolClientId]['Fn::GetStackOutput'], route.id).toMatchObject({ StackName: 'Vodstack-Auth' });
      expect(vars[Env.userPoolId]).not.toEqual(vars[Env.userPoolClientId]);
    }
    // Routes with an authorizer do not need the ids (DeleteMe is given the pool to delete the user).
    for (const route of routes.filter((r) => r.auth === 'user' && r.id !== 'DeleteMe')) {
      const [, fn] = routeFunctions(synth.api).get(route.id)!;
      expect(fn.Properties!.Environment.Variables[Env.userPoolId], route.id).toBeUndefined();
    }
  });

  it("sends each route to its own function, which runs the route's handler module", () => {
    const functions = routeFunctions(synth.api);
    expect([...functions.keys()].sort()).toEqual(routes.map((r) => r.id).sort());
    for (const route of routes) {
      const [fnId, fn] = functions.get(route.id)!;
      expect(fn.Metadata?.[Metadata.handler]).toBe(route.handler);
      // The integration invokes the function's `live` alias, which CodeDeploy shifts between versions.
      const uri = JSON.stringify(findMethod(route.method, route.path)!.Properties!.Integration.Uri);
      const aliasId = /\{"Ref":"([A-Za-z0-9]+)"\}/.exec(uri)?.[1];
      const alias = resourcesOfType(synth.api, 'AWS::Lambda::Alias')[aliasId ?? ''];
      expect(alias?.Properties, route.id).toMatchObject({ Name: LIVE_ALIAS, FunctionName: { Ref: fnId } });
      expect(findMethod(route.method, route.path)!.Properties!.Integration.Type).toBe('AWS_PROXY');
    }
  });

  it('requires the path parameters of each route', () => {
    for (const route of routes.filter((r) => r.path.includes('{id}'))) {
      const method = findMethod(route.method, route.path)!;
      expect(method.Properties!.RequestParameters, route.id).toEqual({ 'method.request.path.id': true });
      expect(method.Properties!.RequestValidatorId, route.id).toBeDefined();
    }
  });

  it('answers CORS preflight on every route path', () => {
    for (const path of new Set(routes.map((r) => r.path))) {
      const preflight = findMethod('OPTIONS', path);
      expect(preflight, path).toBeDefined();
      expect(preflight!.Properties!.AuthorizationType).toBe('NONE');
      const allowMethods = preflight!.Properties!.Integration.IntegrationResponses[0].ResponseParameters[
        'method.response.header.Access-Control-Allow-Methods'
      ] as string;
      for (const route of routes.filter((r) => r.path === path)) expect(allowMethods).toContain(route.method);
    }
  });

  it('adds CORS headers to API Gateway errors (authorizer 401s, throttling 429s)', () => {
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) {
      synth.api.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': "'*'" },
      });
    }
  });
});

describe('VideoApi stage', () => {
  it('throttles the whole stage', () => {
    const [, stage] = onlyResource(synth.api, 'AWS::ApiGateway::Stage');
    expect(stage.Properties!.MethodSettings).toContainEqual(
      expect.objectContaining({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
    );
  });

  it('writes JSON access logs to an encrypted log group, and traces and logs errors', () => {
    const [, stage] = onlyResource(synth.api, 'AWS::ApiGateway::Stage');
    const { DestinationArn, Format } = stage.Properties!.AccessLogSetting;
    const fields = JSON.parse(Format as string) as Record<string, string>;
    expect(fields).toMatchObject({ requestId: '$context.requestId', status: '$context.status', caller: '$context.authorizer.claims.sub' });

    const logGroupId = JSON.stringify(DestinationArn).match(/"Ref":"([A-Za-z0-9]+)"/g)!.map((r) => r.slice(7, -1)).find((id) =>
      Object.keys(resourcesOfType(synth.api, 'AWS::Logs::LogGroup')).includes(id),
    )!;
    const logGroup = resourcesOfType(synth.api, 'AWS::Logs::LogGroup')[logGroupId]!;
    expect(logGroup.Properties!.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
    expect(logGroup.Properties!.RetentionInDays).toBeGreaterThan(0);

    expect(stage.Properties!.TracingEnabled).toBe(true);
    expect(stage.Properties!.MethodSettings).toContainEqual(expect.objectContaining({ LoggingLevel: 'ERROR' }));
  });

  it('lets CloudWatch Logs use the log key only for log groups of this account and region', () => {
    const logsStatements = Object.values(resourcesOfType(synth.api, 'AWS::KMS::Key'))
      .filter((k) => k.Properties!.EnableKeyRotation === true)
      .flatMap((k) => k.Properties!.KeyPolicy.Statement as { Principal: unknown; Condition?: { ArnLike?: Record<string, unknown> } }[])
      .filter((s) => JSON.stringify(s.Principal).includes('"logs."'));
    expect(logsStatements).toHaveLength(1);
    expect(logsStatements[0]!.Condition?.ArnLike?.['kms:EncryptionContext:aws:logs:arn']).toBeDefined();
  });
});

describe('route functions', () => {
  it('run Node.js 22 on x86_64 with tracing, JSON logs, explicit memory and timeout', () => {
    for (const [routeId, [, fn]] of routeFunctions(synth.api)) {
      expect(fn.Properties, routeId).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['x86_64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: expect.objectContaining({ LogFormat: 'JSON' }),
        Handler: 'index.handler',
      });
      expect(fn.Properties!.MemorySize).toBeGreaterThanOrEqual(128);
      expect(fn.Properties!.Timeout).toBeLessThan(29);
    }
  });

  it('each log to their own log group with retention', () => {
    const logGroups = resourcesOfType(synth.api, 'AWS::Logs::LogGroup');
    for (const [routeId, [, fn]] of routeFunctions(synth.api)) {
      const logGroupId = fn.Properties!.LoggingConfig.LogGroup.Ref as string;
      expect(logGroups[logGroupId]?.Properties?.RetentionInDays, routeId).toBeGreaterThan(0);
    }
  });

  it('get the table name, and the buckets only where they use them, from names in #contracts/env', () => {
    const rawRoutes = new Set(['StartUpload', 'GetUpload', 'CompleteUpload', 'AbortUpload', 'DeleteVideo', 'DeleteMe', 'GetHealth']);
    for (const [routeId, [, fn]] of routeFunctions(synth.api)) {
      const vars = fn.Properties!.Environment.Variables as Record<string, unknown>;
      // Search reads the index only, never the table.
      if (routeId === 'SearchVideos') expect(vars[Env.tableName], routeId).toBeUndefined();
      else
        expect(vars[Env.tableName], routeId).toEqual({
          'Fn::GetStackOutput': expect.objectContaining({ StackName: 'Vodstack-Data' }),
        });
      if (rawRoutes.has(routeId)) expect(vars[Env.rawBucket], routeId).toEqual({ 'Fn::GetStackOutput': expect.anything() });
      else expect(vars[Env.rawBucket], routeId).toBeUndefined();
      // The poster routes presign and check uploaded poster images in the media bucket.
      if (['DeleteVideo', 'DeleteMe', 'UpdateVideo', 'StartPosterUpload', 'GetHealth'].includes(routeId)) {
        expect(vars[Env.mediaBucket], routeId).toEqual({ 'Fn::GetStackOutput': expect.anything() });
      }
      else expect(vars[Env.mediaBucket], routeId).toBeUndefined();
    }
  });

  it('give GetStream, and no other route, the CDN URL, the signing key and the URL lifetime', () => {
    const [distributionId] = onlyResource(synth.api, 'AWS::CloudFront::Distribution');
    for (const [routeId, [, fn]] of routeFunctions(synth.api)) {
      const vars = fn.Properties!.Environment.Variables as Record<string, unknown>;
      if (routeId !== 'GetStream') {
        // The health route only describes the signing key's secret (it never reads it).
        const names = routeId === 'GetHealth' ? [Env.cdnUrl, Env.playbackTtlSeconds] : [Env.cdnUrl, Env.playbackKeySecret, Env.playbackTtlSeconds];
        for (const name of names) expect(vars[name], `${routeId} ${name}`).toBeUndefined();
        continue;
      }
      expect(vars[Env.cdnUrl]).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }]] });
      expect(vars[Env.playbackKeySecret]).toEqual({ 'Fn::GetStackOutput': expect.objectContaining({ StackName: 'Vodstack-Data' }) });
      expect(vars[Env.playbackTtlSeconds]).toBe(String(PlaybackDefaults.ttlSeconds));
    }
  });

  it('take the CDN URL from a custom domain and the URL lifetime from context', () => {
    const custom = synthesize({
      domainName: 'video.example.com',
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000',
      playbackTtlSeconds: '900',
    });
    const [, [, fn]] = [...routeFunctions(custom.api)].find(([id]) => id === 'GetStream')!;
    expect(fn.Properties!.Environment.Variables).toMatchObject({ [Env.cdnUrl]: 'https://video.example.com', [Env.playbackTtlSeconds]: '900' });
  });

  it('get the upload limits, defaulting to UploadDefaults', () => {
    const [, [, fn]] = [...routeFunctions(synth.api)].find(([id]) => id === 'StartUpload')!;
    expect(fn.Properties!.Environment.Variables).toMatchObject({
      [Env.uploadMaxBytes]: String(UploadDefaults.maxBytes),
      [Env.uploadPartSizeBytes]: String(UploadDefaults.partSizeBytes),
      [Env.uploadUrlTtlSeconds]: String(UploadDefaults.urlTtlSeconds),
      [Env.uploadStartsPerHour]: String(UploadDefaults.startsPerHour),
    });
  });

  it('set no env var outside #contracts/env but the runtime NODE_OPTIONS', () => {
    const allowed = new Set<string>([...Object.values(Env), 'NODE_OPTIONS', ...Object.keys(PowertoolsEnvironment)]);
    const ours = Object.values(resourcesOfType(synth.api, 'AWS::Lambda::Function')).filter((fn) => fn.Metadata?.[Metadata.handler]);
    expect(ours.length).toBeGreaterThan(routes.length); // the routes and the key sync function
    for (const fn of ours) {
      for (const name of Object.keys(fn.Properties!.Environment?.Variables ?? {})) expect(allowed).toContain(name);
    }
  });
});
