import {
  Stack,
  Validations,
  type IPolicyValidationContext,
  type IPolicyValidationPlugin,
  type PolicyValidationPluginReport,
} from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks, type NagPack } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag v3 runs as CDK validation plugins: `app.synth()` fails on an unacknowledged error, and
 * every finding (warnings too) lands in `cdk.out/validation-report.json`. Acknowledge a finding
 * with `Validations.of(construct).acknowledge({ id, reason })`, on the narrowest construct.
 */
export function nagPacks(app: IConstruct): NagPack[] {
  return [new AwsSolutionsChecks(app), new ServerlessChecks(app)];
}

/** Registers the acknowledgement resolver and the nag packs on the app. */
export function applyNag(app: IConstruct): void {
  Validations.of(app).addPlugins(new ResolvedAcknowledgements(), ...nagPacks(app));
}

interface PendingAcknowledgement {
  readonly scope: IConstruct;
  readonly rule: string;
  readonly resource: string;
  readonly reason: string;
}

const pendingByApp = new WeakMap<IConstruct, PendingAcknowledgement[]>();

/**
 * Acknowledges a finding whose id names a resource, e.g.
 * `acknowledgeResource(fn, 'AwsSolutions-IAM5', `${table.tableArn}/index/*`, reason)`.
 *
 * cdk-nag spells the resource as the consumer stack's template has it, and a reference to another
 * stack only gets that spelling (here `Fn::GetStackOutput`) when CDK resolves cross-stack
 * references during synthesis. So the id is worked out then, by `ResolvedAcknowledgements`, which
 * runs before the nag packs.
 */
export function acknowledgeResource(scope: IConstruct, rule: string, resource: string, reason: string): void {
  const root = scope.node.root;
  const pending = pendingByApp.get(root) ?? [];
  pending.push({ scope, rule, resource, reason });
  pendingByApp.set(root, pending);
}

/**
 * A validation plugin that reports nothing: it turns the pending `acknowledgeResource` calls into
 * acknowledgements once references are resolved. It must be registered before the nag packs.
 */
class ResolvedAcknowledgements implements IPolicyValidationPlugin {
  public readonly name = 'vodstack-resolved-acknowledgements';

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    for (const { scope, rule, resource, reason } of pendingByApp.get(context.appConstruct) ?? []) {
      const flat = flattenForNag(Stack.of(scope).resolve(resource));
      Validations.of(scope).acknowledge({ id: `${rule}[Resource::${flat}]`, reason });
    }
    return { success: true, violations: [] };
  }
}

/** cdk-nag's `flattenCfnReference` (not exported by cdk-nag 3.0.2): how a finding spells a resource. */
export function flattenForNag(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const obj = node as Record<string, unknown>;
  if (obj['Fn::Join']) {
    const [delimiter, items] = obj['Fn::Join'] as [string, unknown[]];
    return items.map(flattenForNag).join(delimiter);
  }
  if (obj['Fn::Sub']) return flattenForNag(obj['Fn::Sub']);
  if (obj['Fn::GetAtt']) {
    const [resource, attribute] = obj['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenForNag(resource)}.${flattenForNag(attribute)}>`;
  }
  if (obj['Fn::ImportValue']) return flattenForNag(obj['Fn::ImportValue']);
  if (obj.Ref) return `<${flattenForNag(obj.Ref)}>`;
  return JSON.stringify(node);
}
