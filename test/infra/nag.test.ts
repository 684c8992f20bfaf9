import { App, Validations } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#lib/app';
import { nagPacks } from '#lib/nag';
import { synthesize, type Synthesized } from './support.ts';

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
    const { app } = synth;
    for (const pack of nagPacks(app)) {
      const report = pack.validateScope(app);
      expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
      expect(report.success).toBe(true);
    }
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
