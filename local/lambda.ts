import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import { Metadata } from '#lib/metadata';
import { physicalKey, resourcesOfType, type PhysicalIds, type SynthesizedStack, type TemplateResolver } from './template.ts';

/** A Lambda function of the templates, as local mode runs it. */
export interface LocalFunction {
  readonly stack: string;
  readonly logicalId: string;
  readonly arn: string;
  /** Module under `lambdas/handlers/` that exports `handler`. */
  readonly module: string;
  readonly routeId: string | undefined;
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number;
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Names every function of the templates before anything resolves a reference to one. */
export function nameFunctions(stacks: SynthesizedStack[], physical: PhysicalIds): void {
  for (const { stack, logicalId } of resourcesOfType(stacks, 'AWS::Lambda::Function')) {
    physical.set(physicalKey(stack, logicalId), logicalId);
  }
}

/** Every function built from a handler module (`vodstack:handler` metadata), environment resolved. */
export function functionsOf(stacks: SynthesizedStack[], resolver: TemplateResolver): LocalFunction[] {
  return resourcesOfType(stacks, 'AWS::Lambda::Function').flatMap(({ stack, logicalId, resource }) => {
    const module = resource.Metadata?.[Metadata.handler];
    if (typeof module !== 'string') return [];
    const variables = (resource.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    const environment = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolver.resolve(stack, v)]));
    const route = resource.Metadata?.[Metadata.route];
    return [
      {
        stack,
        logicalId,
        arn: resolver.resolve(stack, { 'Fn::GetAtt': [logicalId, 'Arn'] }),
        module,
        routeId: typeof route === 'string' ? route : undefined,
        environment,
        timeoutSeconds: Number(resource.Properties?.['Timeout'] ?? 3),
      },
    ];
  });
}

/**
 * One environment for all functions: local mode runs them in one process. Two functions giving
 * one name two values is an error, not a silent pick.
 */
export function sharedEnvironment(functions: readonly LocalFunction[], local: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const fn of functions) {
    for (const [name, value] of Object.entries(fn.environment)) {
      if (name in local) continue; // local mode's own value wins (endpoints, binary paths)
      if (env[name] !== undefined && env[name] !== value) {
        throw new Error(`${name} is ${env[name]} in one function and ${value} in ${fn.logicalId}`);
      }
      env[name] = value;
    }
  }
  return { ...env, ...local };
}

/** Invokes functions by ARN or name, loading each handler module once. */
export class LocalLambdas {
  private readonly byArn = new Map<string, LocalFunction>();
  private readonly loaded = new Map<string, Promise<Handler>>();

  constructor(readonly functions: readonly LocalFunction[]) {
    for (const fn of functions) {
      this.byArn.set(fn.arn, fn);
      this.byArn.set(fn.logicalId, fn);
    }
  }

  find(module: string): LocalFunction {
    const fn = this.functions.find((f) => f.module === module);
    if (!fn) throw new Error(`no function runs ${module}`);
    return fn;
  }

  async invoke(arnOrName: string, event: unknown): Promise<unknown> {
    const fn = this.byArn.get(arnOrName) ?? this.byArn.get(arnOrName.split(':').pop() ?? '');
    if (!fn) throw Object.assign(new Error(`Function not found: ${arnOrName}`), { name: 'Lambda.ResourceNotFoundException' });
    const handler = await this.handlerOf(fn.module);
    const requestId = randomUUID();
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const context: Context = {
      callbackWaitsForEmptyEventLoop: false,
      functionName: fn.logicalId,
      functionVersion: '$LATEST',
      invokedFunctionArn: fn.arn,
      memoryLimitInMB: '1024',
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${fn.logicalId}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    return handler(event, context);
  }

  private handlerOf(module: string): Promise<Handler> {
    let loaded = this.loaded.get(module);
    if (!loaded) {
      const file = fileURLToPath(new URL(`../lambdas/handlers/${module}.ts`, import.meta.url));
      loaded = import(/* @vite-ignore */ file).then((m: { handler: Handler }) => m.handler);
      this.loaded.set(module, loaded);
    }
    return loaded;
  }
}
