import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp, parseOrigins } from '#lib/app';
import { StackNames } from '#lib/metadata';
import { resourcesOfType, synthesize, type Synthesized } from './support.ts';

describe('buildApp', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize();
  });

  it('creates the data, auth and api stacks under their fixed names, the api stack after the data stack', () => {
    const { stacks } = synth;
    expect([stacks.data.stackName, stacks.auth.stackName, stacks.api.stackName]).toEqual([
      StackNames.data,
      StackNames.auth,
      StackNames.api,
    ]);
    expect(stacks.api.dependencies).toEqual(expect.arrayContaining([stacks.data, stacks.auth]));
  });

  it('tags every resource with the project and the lifecycle of its stack', () => {
    const { data, api } = synth;
    for (const [template, lifecycle] of [
      [data, 'stateful'],
      [api, 'stateless'],
    ] as const) {
      for (const bucketOrFn of [
        ...Object.values(resourcesOfType(template, 'AWS::S3::Bucket')),
        ...Object.values(resourcesOfType(template, 'AWS::Lambda::Function')),
      ]) {
        expect(bucketOrFn.Properties!.Tags).toEqual(
          expect.arrayContaining([
            { Key: 'project', Value: 'vodstack' },
            { Key: 'vodstack:lifecycle', Value: lifecycle },
          ]),
        );
      }
    }
  });

  it('refuses an App that already has constructs (feature flags could not apply)', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    buildApp(app, { env: { region: 'eu-west-1' } });
    expect(() => buildApp(app)).toThrow(/fresh App/);
  });

  it('lets context override a pinned feature flag', () => {
    const { api } = synthesize({ '@aws-cdk/core:defaultCrossStackReferences': 'strong' });
    const fn = Object.values(resourcesOfType(api, 'AWS::Lambda::Function'))[0]!;
    expect(JSON.stringify(fn.Properties!.Environment.Variables)).toContain('Fn::ImportValue');
  });
});

describe('CDN context', () => {
  const certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000';

  it('needs domainName and certificateArn together', () => {
    expect(() => synthesize({ domainName: 'video.example.com' })).toThrow(/domainName and certificateArn: give both/);
    expect(() => synthesize({ certificateArn })).toThrow(/domainName and certificateArn: give both/);
  });

  it('refuses a certificate outside us-east-1, which CloudFront cannot use', () => {
    expect(() => synthesize({ domainName: 'video.example.com', certificateArn: certificateArn.replace('us-east-1', 'eu-west-1') })).toThrow(
      /certificateArn: expected an ACM certificate ARN in us-east-1/,
    );
  });

  it('refuses a URL lifetime that the stream function would refuse at run time', () => {
    for (const ttl of ['30', '604801', '1.5', 'soon']) {
      expect(() => synthesize({ playbackTtlSeconds: ttl }), ttl).toThrow(/playbackTtlSeconds: expected whole seconds from 60 to 604800/);
    }
  });
});

describe('parseOrigins', () => {
  it.each([
    [undefined, ['*']],
    ['*', ['*']],
    ['https://a.example, https://b.example:8443', ['https://a.example', 'https://b.example:8443']],
    ['["http://localhost:5173"]', ['http://localhost:5173']],
    [['https://a.example'], ['https://a.example']],
  ])('reads %j', (value, expected) => {
    expect(parseOrigins(value)).toEqual(expected);
  });

  it('rejects something that is not an origin', () => {
    expect(() => parseOrigins('https://a.example/path')).toThrow(/not an origin/);
  });
});
