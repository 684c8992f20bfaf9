import { App, Validations } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#lib/app';
import { nagPacks } from '#lib/nag';
import { synthesize, type Synthesized } from './support.ts';

const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000';

/** Runs both nag packs over an app that synthesized (synthesis itself fails on an unacknowledged error). */
function expectNoFindings(app: IConstruct): void {
  for (const pack of nagPacks(app)) {
    const report = pack.validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  }
}

/** Every acknowledgement recorded in the tree: rule id and reason. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason }))),
    );
}

describe('cdk-nag', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize(); // synthesis itself fails on an unacknowledged error
  });

  it('finds nothing unacknowledged in the whole app, warnings included', () => {
    expectNoFindings(synth.app);
  });

  it.each([
    ['the MediaConvert transcoder', { transcoder: 'mediaconvert' }],
    ['a custom domain (TLS 1.2 minimum)', { domainName: 'video.example.com', certificateArn: CERTIFICATE_ARN }],
  ])('finds nothing unacknowledged with %s either', (_, context) => {
    expectNoFindings(synthesize(context).app);
  });

  it('acknowledges the default certificate\'s TLS finding only when there is no custom domain', () => {
    const cfr4 = (app: IConstruct) => acknowledgements(app).filter((a) => a.id.endsWith('AwsSolutions-CFR4'));
    expect(cfr4(synth.app)).toHaveLength(1);
    expect(cfr4(synthesize({ domainName: 'video.example.com', certificateArn: CERTIFICATE_ARN }).app)).toEqual([]);
  });

  it('leaves no CDK warning unacknowledged', () => {
    const warnings = synth.app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => `${c.node.path}: ${String(m.data)}`));
    expect(warnings).toEqual([]);
  });

  it('gives every acknowledgement a specific reason', () => {
    const { app } = synth;
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(40);
  });

  it('fails synthesis when a resource breaks a rule without an acknowledgement', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const { data } = buildApp(app, { env: { region: 'eu-west-1' } });
    new Bucket(data, 'Careless'); // no TLS-only policy, no access logs
    expect(() => app.synth()).toThrow(/AwsSolutions-S10/);
  });
});
