import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '#contracts/routes';
import { pathParameters } from '#lib/constructs/video-api';
import { Metadata, ResourceRole } from '#lib/metadata';
import { resourcePaths, resourcesOfType, routeFunctions, synthesize, type CfnResourceJson, type Synthesized } from './support.ts';

const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000';

/** Every origin the API answers CORS with: preflight mock responses and API Gateway's own 4XX/5XX. */
function apiCorsOrigins(api: Template): string[] {
  const origins = new Set<string>();
  for (const method of Object.values(resourcesOfType(api, 'AWS::ApiGateway::Method'))) {
    if (method.Properties!.HttpMethod !== 'OPTIONS') continue;
    for (const response of method.Properties!.Integration.IntegrationResponses) {
      origins.add(response.ResponseParameters['method.response.header.Access-Control-Allow-Origin']);
    }
  }
  for (const response of Object.values(resourcesOfType(api, 'AWS::ApiGateway::GatewayResponse'))) {
    origins.add(response.Properties!.ResponseParameters['gatewayresponse.header.Access-Control-Allow-Origin']);
  }
  return [...origins];
}

function rawBucketOrigins(data: Template): string[] {
  const raw = Object.values(resourcesOfType(data, 'AWS::S3::Bucket')).find((b) => b.Metadata?.[Metadata.resource] === ResourceRole.rawBucket)!;
  return [...new Set((raw.Properties!.CorsConfiguration.CorsRules as { AllowedOrigins: string[] }[]).flatMap((r) => r.AllowedOrigins))];
}

describe('CORS', () => {
  it('admits only the web app’s origin once the app knows it (appUrl)', () => {
    const app = synthesize({ appUrl: 'https://d111111abcdef8.cloudfront.net' });
    expect(apiCorsOrigins(app.api)).toEqual(["'https://d111111abcdef8.cloudfront.net'"]);
    expect(rawBucketOrigins(app.data)).toEqual(['https://d111111abcdef8.cloudfront.net']);
  });

  it('admits only the custom domain when one is set', () => {
    const app = synthesize({ domainName: 'video.example.com', certificateArn: CERTIFICATE_ARN });
    expect(apiCorsOrigins(app.api)).toEqual(["'https://video.example.com'"]);
    expect(rawBucketOrigins(app.data)).toEqual(['https://video.example.com']);
  });

  it('lets allowedOrigins override, echoing one of several origins rather than a wildcard', () => {
    const app = synthesize({ appUrl: 'https://video.example.com', allowedOrigins: 'https://a.example.com,https://b.example.com' });
    expect(rawBucketOrigins(app.data)).toEqual(['https://a.example.com', 'https://b.example.com']);
    for (const response of Object.values(resourcesOfType(app.api, 'AWS::ApiGateway::GatewayResponse'))) {
      expect(response.Properties!.ResponseParameters).toMatchObject({
        'gatewayresponse.header.Access-Control-Allow-Origin': 'method.request.header.Origin',
        'gatewayresponse.header.Vary': "'Origin'",
      });
    }
    expect(apiCorsOrigins(app.api)).not.toContain("'*'");
  });

  it('falls back to any origin only when the app’s address is unknown before the first deploy', () => {
    const app = synthesize();
    expect(apiCorsOrigins(app.api)).toEqual(["'*'"]);
  });
});

describe('API request validation and authorization', () => {
  let synth: Synthesized;
  /** The method of each route, by `METHOD path`. */
  let methods: Map<string, CfnResourceJson>;
  beforeAll(() => {
    synth = synthesize();
    const paths = resourcePaths(synth.api);
    methods = new Map(
      Object.values(resourcesOfType(synth.api, 'AWS::ApiGateway::Method')).map((m) => [`${m.Properties!.HttpMethod} ${paths.get(m.Properties!.ResourceId.Ref)}`, m]),
    );
  });
  const methodOf = (route: (typeof routes)[number]) => methods.get(`${route.method} ${route.path}`)!;

  it('validates the required path parameters of every route at the gateway, before a function runs', () => {
    const validators = resourcesOfType(synth.api, 'AWS::ApiGateway::RequestValidator');
    for (const route of routes) {
      const method = methodOf(route);
      const validator = validators[method.Properties!.RequestValidatorId.Ref]!;
      expect(validator.Properties!.ValidateRequestParameters, route.id).toBe(true);
      expect(method.Properties!.RequestParameters ?? {}, route.id).toEqual(
        Object.fromEntries(pathParameters(route.path).map((p) => [`method.request.path.${p}`, true])),
      );
    }
  });

  it('puts the Cognito user-pool authorizer, without OAuth scopes (so ID tokens only), on every user route', () => {
    const [authorizerId, authorizer] = Object.entries(resourcesOfType(synth.api, 'AWS::ApiGateway::Authorizer'))[0]!;
    expect(authorizer.Properties!.Type).toBe('COGNITO_USER_POOLS');
    expect(authorizer.Properties!.IdentitySource).toBe('method.request.header.Authorization');
    for (const route of routes) {
      const method = methodOf(route);
      if (route.auth === 'user') {
        expect(method.Properties!.AuthorizationType, route.id).toBe('COGNITO_USER_POOLS');
        expect(method.Properties!.AuthorizerId, route.id).toEqual({ Ref: authorizerId });
        // With scopes the authorizer would take access tokens instead of ID tokens.
        expect(method.Properties!.AuthorizationScopes, route.id).toBeUndefined();
      } else {
        expect(method.Properties!.AuthorizationType, route.id).toBe('NONE');
      }
    }
  });

  it('gives every optional-auth route the pool and app client its handler checks a token against', () => {
    const functions = routeFunctions(synth.api);
    for (const route of routes.filter((r) => r.auth === 'optional')) {
      const vars = functions.get(route.id)![1].Properties!.Environment.Variables as Record<string, unknown>;
      expect(vars['USER_POOL_ID'], route.id).toBeDefined();
      expect(vars['USER_POOL_CLIENT_ID'], route.id).toBeDefined();
    }
  });
});
