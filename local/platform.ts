import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Env } from '#contracts/env';
import { PlaybackPaths, type PlaybackKey } from '#contracts/playback';
import { routes } from '#contracts/routes';
import { PipelineHandlers } from '#contracts/workflow';
import './node20.ts';
import { Metadata, ResourceRole } from '#lib/metadata';
import { startLocalCognito } from './cognito.ts';
import { startLocalDynamo } from './dynamo.ts';
import { deliverObjectCreated, type DeadLetters } from './events.ts';
import { faultControls, startFaultProxy, type FaultOptions, type FaultProxy, type Faults, type FaultService } from './faults.ts';
import { startLocalGateway } from './gateway.ts';
import { startLocalKms } from './kms.ts';
import { functionsOf, LocalLambdas, nameFunctions, sharedEnvironment } from './lambda.ts';
import { startLocalStepFunctions } from './sfn.ts';
import { ffmpegBinaries } from './binaries.ts';
import { freePort } from './net.ts';
import { bucketsOf, provisionTables, provisionUserPools } from './provision.ts';
import { startLocalS3 } from './s3.ts';
import { startLocalSecrets } from './secrets.ts';
import { startStreamPoller, streamMappingsOf } from './streams.ts';
import { startLocalSts } from './sts.ts';
import { reindexIfMissing } from './reindex.ts';
import { createLocalCdn } from './cdn/cdn.ts';
import { physicalKey, resourcesOfType, synthesize, TemplateResolver, type PhysicalIds } from './template.ts';

export interface PlatformOptions {
  /** Where every stand-in keeps its data, so a restart loses nothing. Default `.local`. */
  readonly dataDir?: string;
  /** Keep DynamoDB in memory (fast; for tests). Default: persisted under `dataDir`. */
  readonly inMemoryTables?: boolean;
  /** CDK context for the in-process synth, exactly as `cdk deploy -c key=value` would get it. */
  readonly context?: Record<string, unknown>;
  /**
   * Port of the API gateway (and the web app); S3, DynamoDB, Cognito, Step Functions, Secrets
   * Manager, STS and KMS take the next seven, so URLs and token issuers stay the same across
   * restarts. Default 3000; 0 picks free ports for all (tests).
   */
  readonly port?: number;
  /** Request and workflow log lines, and each line the functions print; default stdout. */
  readonly log?: (line: string) => void;
  /**
   * How often the sweeper runs, ms (as the schedule does on AWS); 0 turns it off.
   * @default 300000
   */
  readonly sweepEveryMs?: number;
  /**
   * Minutes without an update after which the sweeper restarts (or fails) a video
   * (`STUCK_AFTER_MINUTES`; fractions allowed, for tests).
   * @default - the template's value (30)
   */
  readonly stuckAfterMinutes?: number;
  /**
   * Fault injection (tests): a proxy in front of each stand-in the functions call (S3, DynamoDB
   * and its stream, Cognito, Step Functions, Secrets Manager, STS, KMS) that answers a fraction of
   * calls with the service's throttling error and can stop a service and start it again
   * ({@link Platform.faults}). Tools and tests reach the stand-ins directly through the
   * `*Endpoint` fields (Cognito's endpoint is the token issuer, so it is the proxy).
   * @default - no proxies: functions call the stand-ins directly
   */
  readonly faults?: FaultOptions;
  /** The built web app the local CDN serves. Default `web/dist`. */
  readonly webRoot?: string;
  /** Extra fields for the web app's `/config.json` (e.g. the seeded demo video). */
  readonly webConfig?: () => Record<string, unknown>;
}

/** What a running platform exposes; also written to `<dataDir>/platform.json` for helpers. */
export interface PlatformInfo {
  /** Where the stand-ins keep their data (secrets under `secrets/`, mail under `cognito/`). */
  readonly dataDir: string;
  /** Emails Cognito sent (sign-up codes), one JSON object per line. */
  readonly mailbox: string;
  /** The web app, the API (`/api/v1`) and media (`/v/...`) on one origin, as CloudFront serves them. */
  readonly webUrl: string;
  readonly apiUrl: string;
  readonly s3Endpoint: string;
  readonly dynamoEndpoint: string;
  readonly cognitoEndpoint: string;
  readonly userPoolId: string;
  readonly clientId: string;
  readonly tableName: string;
  readonly rawBucket: string;
  readonly mediaBucket: string;
  readonly sfnEndpoint: string;
  readonly workflowArn: string;
  /** AssumeRole on the templates' roles; its sessions' keys work on the local S3, within the role's policy. */
  readonly stsEndpoint: string;
  /** Encrypt/Decrypt with the templates' keys (key material under `kms/`). */
  readonly kmsEndpoint: string;
  /**
   * The environment the functions run with (their templates' variables resolved, and local
   * mode's endpoints and credentials), so a test can run their code in its own process.
   */
  readonly functionEnv: Readonly<Record<string, string>>;
}

export interface Platform extends PlatformInfo {
  /** Resolves once no upload event or workflow execution is in flight. */
  idle(): Promise<void>;
  /** Throttling and outages of the stand-ins; works when started with the `faults` option. */
  readonly faults: Faults;
  /** Upload events the starter failed `maxReceiveCount` times (the queue's dead letter queue). */
  readonly uploadDeadLetters: DeadLetters;
  /** Runs the sweeper once now (as its schedule would); resolves with its counts. */
  sweep(): Promise<unknown>;
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
  // Chunks run as many at a time as the machine has cores (each ffmpeg is itself multi-threaded).
  const stacks = synthesize({ chunkConcurrency: availableParallelism(), ...options.context });
  const basePort = options.port ?? 3000;
  const portFor = async (offset: number) => (basePort === 0 ? freePort() : basePort + offset);
  const physical: PhysicalIds = new Map();
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch((error: unknown) => console.error(error));
  };

  try {
    // With `faults`, the functions reach each stand-in through a proxy that can throttle or stop it.
    const proxies = new Map<FaultService, FaultProxy>();
    const proxied = async (service: FaultService, target: string, port?: number): Promise<string> => {
      if (!options.faults) return target;
      const proxy = await startFaultProxy({ service, target, throttleRate: options.faults.throttleRate, seed: options.faults.seed, ...(port ? { port } : {}) });
      proxies.set(service, proxy);
      stops.push(() => proxy.close());
      return proxy.endpoint;
    };

    const buckets = bucketsOf(stacks, physical);
    // STS names the roles and issues the sessions the local S3 authorizes (per-video credentials).
    const sts = await startLocalSts({ stacks, physical, port: await portFor(6) });
    stops.push(() => sts.stop());
    const stsEndpoint = await proxied('sts', sts.endpoint);

    const s3 = await startLocalS3({
      port: await portFor(1),
      directory: join(dataDir, 's3'),
      buckets: buckets.map(({ name, cors }) => ({ name, cors })),
      ...LOCAL_CREDENTIALS,
      sessions: sts.sessions,
      silent: true,
    });
    stops.push(() => s3.close());
    const s3Endpoint = await proxied('s3', s3.endpoint);

    const dynamo = await startLocalDynamo({
      port: await portFor(2),
      ...(options.inMemoryTables ? {} : { directory: join(dataDir, 'dynamodb') }),
    });
    stops.push(() => dynamo.stop());
    await provisionTables(stacks, physical, dynamo.endpoint);
    const dynamoEndpoint = await proxied('dynamodb', dynamo.endpoint);

    const log = options.log ?? ((line: string) => console.log(line));
    // Cognito's endpoint is also the tokens' issuer: with faults the proxy takes its port.
    const cognitoPort = await portFor(3);
    const cognito = await startLocalCognito({
      ...(options.faults ? { port: await freePort(), publicEndpoint: `http://127.0.0.1:${cognitoPort}` } : { port: cognitoPort }),
      directory: join(dataDir, 'cognito'),
      onMail: (mail) => log(`mail to ${mail.to}: ${mail.code ? `confirmation code ${mail.code}` : (mail.subject ?? 'message')} (mailbox: ${join(dataDir, 'cognito', 'mailbox.jsonl')})`),
    });
    stops.push(() => cognito.stop());
    if (options.faults) await proxied('cognito', cognito.listening, cognitoPort);
    await provisionUserPools(stacks, physical, cognito.endpoint);

    const secrets = await startLocalSecrets({
      stacks,
      physical,
      file: join(dataDir, 'secrets', 'secrets.json'),
      port: await portFor(5),
    });
    stops.push(() => secrets.stop());
    const secretsEndpoint = await proxied('secrets', secrets.endpoint);

    const kms = await startLocalKms({ stacks, physical, file: join(dataDir, 'kms', 'keys.json'), port: await portFor(7) });
    stops.push(() => kms.stop());
    const kmsEndpoint = await proxied('kms', kms.endpoint);

    // The gateway is also the CDN (one origin, as the distribution fronts the API on AWS).
    const gatewayPort = basePort === 0 ? await freePort() : basePort;
    const origin = `http://127.0.0.1:${gatewayPort}`;
    for (const { stack, logicalId } of resourcesOfType(stacks, 'AWS::CloudFront::Distribution')) {
      physical.set(physicalKey(stack, logicalId), `127.0.0.1:${gatewayPort}`);
    }

    nameFunctions(stacks, physical);
    const machines = resourcesOfType(stacks, 'AWS::StepFunctions::StateMachine');
    for (const { stack, logicalId } of machines) {
      physical.set(physicalKey(stack, logicalId), `arn:aws:states:us-east-1:000000000000:stateMachine:${logicalId}`);
    }
    const resolver = new TemplateResolver(stacks, physical);
    // What the functions print (Powertools JSON log and EMF lines) goes where the platform logs.
    const lambdas = new LocalLambdas(functionsOf(stacks, resolver), log);

    const sfnPort = await portFor(4);
    const sfn = await startLocalStepFunctions({
      port: sfnPort,
      directory: join(dataDir, 'stepfunctions'),
      stateMachines: machines.map(({ stack, logicalId, resource }) => ({
        arn: resolver.resolve(stack, { Ref: logicalId }),
        definition: JSON.parse(resolver.resolve(stack, resource.Properties?.['DefinitionString'])) as Record<string, unknown>,
      })),
      invoke: (arn, payload) => lambdas.invoke(arn, payload) as never,
      log,
    });
    stops.push(() => sfn.stop());
    const sfnEndpoint = await proxied('sfn', sfn.endpoint);

    const functionEnv = sharedEnvironment(lambdas.functions, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_ENDPOINT_URL_STS: stsEndpoint,
      AWS_ENDPOINT_URL_KMS: kmsEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      AWS_ENDPOINT_URL_SFN: sfnEndpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsEndpoint,
      AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: cognito.endpoint,
      // CloudFront's https://{domain}; locally the gateway's origin.
      [Env.cdnUrl]: origin,
      [Env.s3ForcePathStyle]: 'true',
      ...ffmpegBinaries(),
      ...(options.stuckAfterMinutes !== undefined ? { [Env.stuckAfterMinutes]: String(options.stuckAfterMinutes) } : {}),
    });
    Object.assign(process.env, functionEnv);
    const env = process.env as Record<string, string>;

    const rawBucket = byRole(stacks, resolver, ResourceRole.rawBucket);
    const starter = lambdas.find(PipelineHandlers.starter);
    const uploads = deliverObjectCreated({ bucket: rawBucket, deliver: (event) => lambdas.invoke(starter.arn, event), log });
    s3.events.on('object-created', (event) => uploads.onS3Event(event));

    const sweeper = lambdas.find(PipelineHandlers.sweeper);
    const sweepEvery = options.sweepEveryMs ?? 300_000;
    if (sweepEvery > 0) {
      const timer = setInterval(() => {
        lambdas.invoke(sweeper.arn, { source: 'aws.scheduler' }).catch((error: unknown) => log(`sweeper failed: ${String(error)}`));
      }, sweepEvery);
      timer.unref();
      stops.push(async () => clearInterval(timer));
    }

    // The table's stream → the functions mapped to it (the search indexer), as Lambda polls it on AWS.
    const streamPollers = await Promise.all(
      streamMappingsOf(stacks, resolver).map((mapping) =>
        startStreamPoller({
          endpoint: dynamoEndpoint,
          region: 'us-east-1',
          credentials: LOCAL_CREDENTIALS,
          tableName: required(env, Env.tableName),
          mapping,
          deliver: (event) => lambdas.invoke(mapping.functionName, event),
          log,
        }),
      ),
    );
    for (const poller of streamPollers) stops.push(() => poller.stop());

    const pool = single(resourcesOfType(stacks, 'AWS::Cognito::UserPool'), 'user pool');
    const client = single(resourcesOfType(stacks, 'AWS::Cognito::UserPoolClient'), 'user pool client');
    const userPoolId = resolver.resolve(pool.stack, { Ref: pool.logicalId });
    const clientId = resolver.resolve(client.stack, { Ref: client.logicalId });
    const routeFunctions = new Map(lambdas.functions.filter((f) => f.routeId).map((f) => [f.routeId, f]));
    const missingRoutes = routes.filter((r) => !routeFunctions.has(r.id)).map((r) => r.id);
    if (missingRoutes.length) throw new Error(`the templates have no function for routes ${missingRoutes.join(', ')}`);
    const mediaBucket = byRole(stacks, resolver, ResourceRole.mediaBucket);
    const cdn = createLocalCdn({
      mediaBucket,
      s3: { endpoint: s3.endpoint, ...LOCAL_CREDENTIALS },
      edgeFunction: fileURLToPath(new URL('../lambdas/edge/playback-access.js', import.meta.url)),
      appRoutesFunction: fileURLToPath(new URL('../lambdas/edge/app-routes.js', import.meta.url)),
      keyValues: () => playbackKeyValues(secrets.values()),
      webRoot: options.webRoot ?? fileURLToPath(new URL('../web/dist', import.meta.url)),
      webConfig: () => ({
        region: 'us-east-1',
        userPoolId,
        userPoolClientId: clientId,
        cognitoEndpoint: cognito.endpoint,
        ...options.webConfig?.(),
      }),
      log,
    });
    const gateway = await startLocalGateway({
      port: gatewayPort,
      fallback: cdn,
      issuer: cognito.issuer(userPoolId),
      jwksUrl: cognito.jwksUrl(userPoolId),
      clientId,
      invoke: (route, event) => lambdas.invoke(routeFunctions.get(route.id)!.arn, event) as never,
      log,
    });
    stops.push(() => gateway.stop());

    const info: PlatformInfo = {
      dataDir,
      webUrl: gateway.url,
      mailbox: join(dataDir, 'cognito', 'mailbox.jsonl'),
      apiUrl: gateway.url,
      s3Endpoint: s3.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      cognitoEndpoint: cognito.endpoint,
      userPoolId,
      clientId,
      tableName: required(env, Env.tableName),
      rawBucket,
      mediaBucket,
      sfnEndpoint: sfn.endpoint,
      workflowArn: required(env, Env.workflowArn),
      stsEndpoint: sts.endpoint,
      kmsEndpoint: kms.endpoint,
      functionEnv,
    };
    writeFileSync(join(dataDir, 'platform.json'), JSON.stringify(info, null, 2));
    await reindexIfMissing(info, log);
    const idle = async () => {
      // An upload event can start an execution and an execution can finish an upload's story.
      do {
        await uploads.idle();
        await sfn.idle();
      } while (sfn.executions().some((e) => e.status === 'RUNNING'));
      // What those wrote reaches the search index through the table's stream.
      await Promise.all(streamPollers.map((poller) => poller.idle()));
    };
    return {
      ...info,
      idle,
      stop,
      faults: faultControls(proxies),
      uploadDeadLetters: uploads.deadLetters,
      sweep: () => lambdas.invoke(sweeper.arn, { source: 'aws.scheduler' }),
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The KeyValueStore the edge function reads: `playback-key-{kid}` for each `{kid, key}` secret
 * (on AWS a custom resource copies the secret into the store at deploy time).
 */
function playbackKeyValues(secrets: Iterable<string>): Map<string, string> {
  const values = new Map<string, string>();
  for (const secret of secrets) {
    try {
      const { kid, key } = JSON.parse(secret) as Partial<PlaybackKey>;
      if (typeof kid === 'string' && typeof key === 'string') values.set(`${PlaybackPaths.kvsKeyPrefix}${kid}`, key);
    } catch {
      // not a playback key
    }
  }
  return values;
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
