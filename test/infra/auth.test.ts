import { beforeAll, describe, expect, it } from 'vitest';
import { Metadata, ResourceRole } from '#lib/metadata';
import { onlyResource, synthesize, type Synthesized } from './support.ts';

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize();
});

describe('UserAccounts', () => {
  it('requires passwords of at least 12 characters with every character class', () => {
    synth.auth.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        },
      },
    });
  });

  it('lets anyone sign up and sign in with a verified email address', () => {
    const [, pool] = onlyResource(synth.auth, 'AWS::Cognito::UserPool');
    expect(pool.Properties).toMatchObject({
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: false },
      UsernameAttributes: ['email'],
      AutoVerifiedAttributes: ['email'],
      UsernameConfiguration: { CaseSensitive: false },
    });
    expect(pool.Metadata?.[Metadata.resource]).toBe(ResourceRole.userPool);
  });

  it('is on the Plus plan with threat protection enforced, and retained', () => {
    const [, pool] = onlyResource(synth.auth, 'AWS::Cognito::UserPool');
    expect(pool.Properties).toMatchObject({ UserPoolTier: 'PLUS', UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' } });
    // The default stage (dev) retains the pool but lets an operator delete it on purpose; prod
    // turns deletion protection on (test/infra/deploys.test.ts).
    expect(pool.Properties!.DeletionProtection).toBe('INACTIVE');
    expect(pool.DeletionPolicy).toBe('Retain');
  });

  it('has a public client with SRP, password and refresh flows that hides whether a user exists', () => {
    const [, client] = onlyResource(synth.auth, 'AWS::Cognito::UserPoolClient');
    expect(client.Properties!.ExplicitAuthFlows).toEqual(
      expect.arrayContaining(['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']),
    );
    expect(client.Properties!.GenerateSecret).toBe(false);
    expect(client.Properties!.PreventUserExistenceErrors).toBe('ENABLED');
    expect(client.Metadata?.[Metadata.resource]).toBe(ResourceRole.userPoolClient);
  });

  it('offers the hosted UI with the authorization code grant only, for openid, email and profile', () => {
    const [, client] = onlyResource(synth.auth, 'AWS::Cognito::UserPoolClient');
    expect(client.Properties).toMatchObject({
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      SupportedIdentityProviders: ['COGNITO'],
      CallbackURLs: ['http://localhost:3000/auth/callback'],
      LogoutURLs: ['http://localhost:3000/'],
      GenerateSecret: false,
    });
    expect([...client.Properties!.AllowedOAuthScopes].sort()).toEqual(['email', 'openid', 'profile']);
    const [, domain] = onlyResource(synth.auth, 'AWS::Cognito::UserPoolDomain');
    expect(domain.Properties!.Domain).toEqual({ 'Fn::Join': ['', ['vodstack-auth-', { Ref: 'AWS::AccountId' }]] });
    expect(domain.Properties!.CustomDomainConfig).toBeUndefined();
    expect(Object.keys(synth.auth.findOutputs('HostedUiUrl'))).toEqual(['HostedUiUrl']);
  });

  it('takes the domain prefix and the app URL from context, defaulting the app URL to the custom domain', () => {
    const custom = synthesize({ authDomainPrefix: 'my-videos', appUrl: 'https://d111.cloudfront.net/' });
    custom.auth.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: 'my-videos' });
    custom.auth.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      CallbackURLs: ['https://d111.cloudfront.net/auth/callback'],
      LogoutURLs: ['https://d111.cloudfront.net/'],
    });
    const branded = synthesize({ domainName: 'video.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' });
    branded.auth.hasResourceProperties('AWS::Cognito::UserPoolClient', { CallbackURLs: ['https://video.example.com/auth/callback'] });
  });

  it('refuses a domain prefix Cognito would reject and a callback that is not https', () => {
    expect(() => synthesize({ authDomainPrefix: 'My_Videos' })).toThrow(/authDomainPrefix/);
    expect(() => synthesize({ authDomainPrefix: 'cognito-videos' })).toThrow(/authDomainPrefix/);
    expect(() => synthesize({ appUrl: 'http://video.example.com' })).toThrow(/https/);
  });

  it('switches to another feature plan from the cognitoFeaturePlan context', () => {
    const essentials = synthesize({ cognitoFeaturePlan: 'essentials' });
    essentials.auth.hasResourceProperties('AWS::Cognito::UserPool', { UserPoolTier: 'ESSENTIALS' });
  });
});
