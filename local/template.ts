import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '#lib/app';

/** The parts of a CloudFormation template local mode reads. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}
export interface SynthesizedStack {
  readonly name: string;
  readonly template: CfnTemplate;
}

/**
 * Synthesizes the same CDK app `cdk deploy` would, in-process and without bundling (local mode
 * runs the handlers from source), and returns every stack's template.
 */
export function synthesize(context: Record<string, unknown> = {}): SynthesizedStack[] {
  const outdir = mkdtempSync(join(tmpdir(), 'vodstack-synth-'));
  try {
    const app = new App({ outdir, context: { ...context, 'aws:cdk:bundling-stacks': [] } });
    buildApp(app);
    const assembly = app.synth();
    return assembly.stacks.map((stack) => ({ name: stack.stackName, template: stack.template as CfnTemplate }));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Physical ids of resources as local mode created them, by stack and logical id. */
export type PhysicalIds = Map<string, string>;
export const physicalKey = (stack: string, logicalId: string) => `${stack}/${logicalId}`;

/**
 * Resolves the intrinsic functions CDK emits (`Ref`, `Fn::GetAtt`, `Fn::GetStackOutput`, `Fn::ImportValue`, `Fn::Join`,
 * `Fn::Select`, pseudo parameters) against the local resources, so a function's environment in
 * the template becomes its environment locally.
 */
export class TemplateResolver {
  constructor(
    private readonly stacks: SynthesizedStack[],
    private readonly physical: PhysicalIds,
    private readonly region = 'us-east-1',
    private readonly account = '000000000000',
  ) {}

  resolve(stack: string, value: unknown): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (!value || typeof value !== 'object') throw new Error(`cannot resolve ${JSON.stringify(value)}`);
    const [fn, arg] = Object.entries(value)[0] ?? [];
    switch (fn) {
      case 'Ref':
        return this.ref(stack, String(arg));
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
        return this.getAtt(stack, String(logicalId), String(attribute));
      }
      case 'Fn::ImportValue':
        return this.importValue(this.resolve(stack, arg));
      case 'Fn::GetStackOutput': {
        const { StackName, OutputName } = arg as { StackName: unknown; OutputName: unknown };
        return this.stackOutput(this.resolve(stack, StackName), this.resolve(stack, OutputName));
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return parts.map((p) => this.resolve(stack, p)).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [number, unknown];
        const items = Array.isArray(list) ? list.map((i) => this.resolve(stack, i)) : this.resolve(stack, list).split(',');
        return items[Number(index)] ?? '';
      }
      default:
        throw new Error(`local mode cannot resolve ${fn} in stack ${stack}`);
    }
  }

  private ref(stack: string, logicalId: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Region': this.region,
      'AWS::AccountId': this.account,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': stack,
    };
    if (logicalId in pseudo) return pseudo[logicalId]!;
    const id = this.physical.get(physicalKey(stack, logicalId));
    if (id !== undefined) return id;
    const resource = this.stacks.find((s) => s.name === stack)?.template.Resources?.[logicalId];
    if (resource?.Type === 'AWS::Lambda::Alias') {
      // An alias's Ref is its ARN, the function's qualified by the alias name: what workflow tasks
      // and integrations invoke (LocalLambdas runs the function behind it).
      const { FunctionName, Name } = resource.Properties as { FunctionName: unknown; Name: unknown };
      const functionName = this.resolve(stack, FunctionName);
      const functionArn = functionName.startsWith('arn:') ? functionName : `arn:aws:lambda:${this.region}:${this.account}:function:${functionName}`;
      return `${functionArn}:${this.resolve(stack, Name)}`;
    }
    throw new Error(`local mode has no resource for ${stack}/${logicalId}`);
  }

  private getAtt(stack: string, logicalId: string, attribute: string): string {
    const resource = this.stacks.find((s) => s.name === stack)?.template.Resources?.[logicalId];
    const name = this.ref(stack, logicalId);
    const service = resource?.Type.split('::')[1]?.toLowerCase() ?? 'local';
    if (attribute === 'Arn') {
      if (service === 's3') return `arn:aws:s3:::${name}`;
      if (service === 'dynamodb') return `arn:aws:dynamodb:${this.region}:${this.account}:table/${name}`;
      if (service === 'lambda') return `arn:aws:lambda:${this.region}:${this.account}:function:${name}`;
      // IAM is global (no region); a role's ARN carries its path.
      if (resource?.Type === 'AWS::IAM::Role') {
        const rolePath = resource.Properties?.['Path'];
        return `arn:aws:iam::${this.account}:role${typeof rolePath === 'string' ? rolePath : '/'}${name}`;
      }
      if (resource?.Type === 'AWS::KMS::Key') return `arn:aws:kms:${this.region}:${this.account}:key/${name}`;
      return `arn:aws:${service}:${this.region}:${this.account}:${name}`;
    }
    return name;
  }

  private stackOutput(stackName: string, outputName: string): string {
    const output = this.stacks.find((s) => s.name === stackName)?.template.Outputs?.[outputName];
    if (!output) throw new Error(`stack ${stackName} has no output ${outputName}`);
    return this.resolve(stackName, output.Value);
  }

  private importValue(exportName: string): string {
    for (const stack of this.stacks) {
      for (const output of Object.values(stack.template.Outputs ?? {})) {
        if (output.Export && this.resolve(stack.name, output.Export.Name) === exportName) {
          return this.resolve(stack.name, output.Value);
        }
      }
    }
    throw new Error(`no stack exports ${exportName}`);
  }
}

/** Every resource of a type across stacks. */
export function resourcesOfType(stacks: SynthesizedStack[], type: string) {
  return stacks.flatMap((stack) =>
    Object.entries(stack.template.Resources ?? {})
      .filter(([, r]) => r.Type === type)
      .map(([logicalId, resource]) => ({ stack: stack.name, logicalId, resource })),
  );
}

/** A stable local name for a resource CloudFormation would name: derived from its logical id. */
export function localName(logicalId: string, max = 63): string {
  return `vodstack-${logicalId.toLowerCase().replace(/[^a-z0-9-]/g, '')}`.slice(0, max);
}
