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

  it('creates the data, auth and api stacks under their fixed names', () => {
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
