import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
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

/** Where a function's output goes: each line it writes to stdout or stderr, as written. */
export type FunctionOutput = (line: string) => void;

/** The key of an invocation's output in its InvokeStore context. */
const OUTPUT = Symbol.for('vodstack.local.functionOutput');

// Set on import, before any SDK call: the SDK's recursion-detection middleware creates the
// process's InvokeStore on its first request, and without this it makes a single-invocation
// store, under which concurrent invocations share one context (each reads another's
// correlation id and log output). Powertools also scopes its state per invocation only with it.
process.env['AWS_LAMBDA_MAX_CONCURRENCY'] ??= '64';

/**
 * Invokes functions by ARN or name, loading each handler module once. All run in this process and
 * many at a time, like Lambda's multi-concurrency runtime: each invocation runs in an InvokeStore
 * context (what that runtime does, and what Powertools scopes its per-request state by once
 * `AWS_LAMBDA_MAX_CONCURRENCY` is set), and what it writes to stdout/stderr is handed to
 * `output` line by line, as Lambda hands it to CloudWatch.
 */
export class LocalLambdas {
  private readonly byArn = new Map<string, LocalFunction>();
  private readonly loaded = new Map<string, Promise<Handler>>();
  private store: Promise<InvokeStoreBase> | undefined;

  constructor(
    readonly functions: readonly LocalFunction[],
    private readonly output: FunctionOutput = (line) => console.log(line),
  ) {
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
    // A qualified ARN (`…:function:<name>:<alias or version>`) runs the one local copy of the function.
    const unqualified = arnOrName.replace(/^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+):[^:]+$/, '$1');
    const fn = this.byArn.get(arnOrName) ?? this.byArn.get(unqualified) ?? this.byArn.get(arnOrName.split(':').pop() ?? '');
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
    const store = await this.invokeStore();
    inFlight.add(requestId);
    try {
      return await store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId, [OUTPUT]: this.output }, () => handler(event, context));
    } finally {
      inFlight.delete(requestId);
    }
  }

  private invokeStore(): Promise<InvokeStoreBase> {
    this.store ??= (async () => {
      const store = await InvokeStore.getInstanceAsync(true);
      if (!isMultiConcurrency(store)) {
        throw new Error(
          'the process InvokeStore is a single-invocation one (something created it before AWS_LAMBDA_MAX_CONCURRENCY was set); import local/lambda.ts before making any AWS SDK call',
        );
      }
      captureFunctionOutput(store);
      return store;
    })();
    return this.store;
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

/** True for a store whose contexts follow async calls (AsyncLocalStorage), so invocations can overlap. */
function isMultiConcurrency(store: InvokeStoreBase): boolean {
  return 'als' in store;
}

let capturing = false;
/**
 * Invocations still running. An async context can outlive its invocation (a timer or socket the
 * handler set up, or code that resumed in it, such as the test runner's own reporter after a
 * platform started inside it): writes there are the process's own and pass through.
 */
const inFlight = new Set<string>();
/** True while a captured line is being handed to its sink. */
let routing = false;

/**
 * Routes what code running inside an invocation writes to stdout/stderr (Powertools' log and EMF
 * lines, a stray `console.log`) to that invocation's output, line by line; everything else (the
 * platform's own output) is written as before. Installed once per process.
 */
function captureFunctionOutput(store: InvokeStoreBase): void {
  if (capturing) return;
  capturing = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const current = !routing && store.hasContext() ? store.getRequestId() : undefined;
      const output = current !== undefined && inFlight.has(current) ? store.get<FunctionOutput>(OUTPUT) : undefined;
      if (!output) return write(chunk, ...rest);
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      // The sink usually prints (to stdout again): its own writes go straight out, not round again.
      routing = true;
      try {
        for (const line of text.split('\n')) if (line) output(line);
      } finally {
        routing = false;
      }
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
}
