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
    expect(pool.Properties!.DeletionProtection).toBe('ACTIVE');
    expect(pool.DeletionPolicy).toBe('Retain');
  });

  it('has a public client with SRP, password and refresh flows that hides whether a user exists', () => {
    const [, client] = onlyResource(synth.auth, 'AWS::Cognito::UserPoolClient');
    expect(client.Properties!.ExplicitAuthFlows).toEqual(
      expect.arrayContaining(['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']),
    );
    expect(client.Properties!.GenerateSecret).toBe(false);
    expect(client.Properties!.PreventUserExistenceErrors).toBe('ENABLED');
    expect(client.Properties!.AllowedOAuthFlows).toBeUndefined();
    expect(client.Metadata?.[Metadata.resource]).toBe(ResourceRole.userPoolClient);
  });

  it('switches to another feature plan from the cognitoFeaturePlan context', () => {
    const essentials = synthesize({ cognitoFeaturePlan: 'essentials' });
    essentials.auth.hasResourceProperties('AWS::Cognito::UserPool', { UserPoolTier: 'ESSENTIALS' });
  });
});
