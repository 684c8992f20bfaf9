import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Env } from '#contracts/env';
import { routes } from '#contracts/routes';
import './node20.ts';
import { Metadata, ResourceRole } from '#lib/metadata';
import { startLocalCognito } from './cognito.ts';
import { startLocalDynamo } from './dynamo.ts';
import { startLocalGateway } from './gateway.ts';
import { freePort } from './net.ts';
import { bucketsOf, provisionTables, provisionUserPools } from './provision.ts';
import { startLocalS3 } from './s3.ts';
import { resourcesOfType, synthesize, TemplateResolver, type PhysicalIds } from './template.ts';

export interface PlatformOptions {
  /** Where every stand-in keeps its data, so a restart loses nothing. Default `.local`. */
  readonly dataDir?: string;
  /** Keep DynamoDB in memory (fast; for tests). Default: persisted under `dataDir`. */
  readonly inMemoryTables?: boolean;
  /** CDK context for the in-process synth, exactly as `cdk deploy -c key=value` would get it. */
  readonly context?: Record<string, unknown>;
  /**
   * Port of the API gateway (and later the web app); S3, DynamoDB and Cognito take the next
   * three, so URLs and token issuers stay the same across restarts. Default 3000; 0 picks free
   * ports for all four (tests).
   */
  readonly port?: number;
  /** Request log lines; default stdout. */
  readonly log?: (line: string) => void;
}

/** What a running platform exposes; also written to `<dataDir>/platform.json` for helpers. */
export interface PlatformInfo {
  readonly apiUrl: string;
  readonly s3Endpoint: string;
  readonly dynamoEndpoint: string;
  readonly cognitoEndpoint: string;
  readonly userPoolId: string;
  readonly clientId: string;
  readonly tableName: string;
  readonly rawBucket: string;
  readonly mediaBucket: string;
}

export interface Platform extends PlatformInfo {
  stop(): Promise<void>;
}

/** The stand-ins' fixed local credentials (the local S3 verifies signatures with them). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * Brings the whole platform up on loopback: synthesizes the CDK app, starts S3, DynamoDB and
 * Cognito stand-ins, provisions what the templates declare, and serves the route table through the
 * local gateway with each function's environment resolved from its template.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const dataDir = resolve(options.dataDir ?? '.local');
  mkdirSync(dataDir, { recursive: true });
  const stacks = synthesize(options.context);
  const basePort = options.port ?? 3000;
  const portFor = async (offset: number) => (basePort === 0 ? freePort() : basePort + offset);
  const physical: PhysicalIds = new Map();
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch((error: unknown) => console.error(error));
  };

  try {
    const buckets = bucketsOf(stacks, physical);
    const s3 = await startLocalS3({
      port: await portFor(1),
      directory: join(dataDir, 's3'),
      buckets: buckets.map(({ name, cors }) => ({ name, cors })),
      ...LOCAL_CREDENTIALS,
      silent: true,
    });
    stops.push(() => s3.close());

    const dynamo = await startLocalDynamo({
      port: await portFor(2),
      ...(options.inMemoryTables ? {} : { directory: join(dataDir, 'dynamodb') }),
    });
    stops.push(() => dynamo.stop());
    await provisionTables(stacks, physical, dynamo.endpoint);

    const cognito = await startLocalCognito({ port: await portFor(3), directory: join(dataDir, 'cognito') });
    stops.push(() => cognito.stop());
    await provisionUserPools(stacks, physical, cognito.endpoint);

    const resolver = new TemplateResolver(stacks, physical);
    const env = routeEnvironment(stacks, resolver);
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      [Env.s3ForcePathStyle]: 'true',
      ...env,
    });

    const pool = single(resourcesOfType(stacks, 'AWS::Cognito::UserPool'), 'user pool');
    const client = single(resourcesOfType(stacks, 'AWS::Cognito::UserPoolClient'), 'user pool client');
    const userPoolId = resolver.resolve(pool.stack, { Ref: pool.logicalId });
    const clientId = resolver.resolve(client.stack, { Ref: client.logicalId });
    const gateway = await startLocalGateway({
      port: await portFor(0),
      issuer: cognito.issuer(userPoolId),
      jwksUrl: cognito.jwksUrl(userPoolId),
      clientId,
      ...(options.log ? { log: options.log } : {}),
    });
    stops.push(() => gateway.stop());

    const info: PlatformInfo = {
      apiUrl: gateway.url,
      s3Endpoint: s3.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      cognitoEndpoint: cognito.endpoint,
      userPoolId,
      clientId,
      tableName: required(env, Env.tableName),
      rawBucket: required(env, Env.rawBucket),
      mediaBucket: byRole(stacks, resolver, ResourceRole.mediaBucket),
    };
    writeFileSync(join(dataDir, 'platform.json'), JSON.stringify(info, null, 2));
    return { ...info, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The environment of every route's function, resolved from the template. Local mode runs them
 * in one process, so they share one environment: two functions giving one name two values is an
 * error, not a silent pick.
 */
function routeEnvironment(stacks: ReturnType<typeof synthesize>, resolver: TemplateResolver): Record<string, string> {
  const env: Record<string, string> = {};
  const routeIds = new Set<string>(routes.map((r) => r.id));
  const functions = resourcesOfType(stacks, 'AWS::Lambda::Function').filter(({ resource }) =>
    routeIds.has(String(resource.Metadata?.[Metadata.route])),
  );
  if (functions.length !== routeIds.size) {
    throw new Error(`the template has ${functions.length} route functions for ${routeIds.size} routes`);
  }
  for (const { stack, logicalId, resource } of functions) {
    const variables = (resource.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    for (const [name, raw] of Object.entries(variables)) {
      const value = resolver.resolve(stack, raw);
      if (env[name] !== undefined && env[name] !== value) {
        throw new Error(`${name} is ${env[name]} in one function and ${value} in ${logicalId}`);
      }
      env[name] = value;
    }
  }
  return env;
}

/** The physical name of the one resource carrying a role in its `vodstack:resource` metadata. */
function byRole(stacks: ReturnType<typeof synthesize>, resolver: TemplateResolver, role: ResourceRole): string {
  const matches = stacks.flatMap((stack) =>
    Object.entries(stack.template.Resources ?? {})
      .filter(([, r]) => r.Metadata?.[Metadata.resource] === role)
      .map(([logicalId]) => resolver.resolve(stack.name, { Ref: logicalId })),
  );
  return single(matches, role);
}

function single<T>(items: T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected one ${what} in the templates, found ${items.length}`);
  return items[0]!;
}

function required(env: Record<string, string>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`no route function sets ${name}`);
  return value;
}
