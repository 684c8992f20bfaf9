import { Tags, type App, type Environment } from 'aws-cdk-lib';
import { FeaturePlan } from 'aws-cdk-lib/aws-cognito';
import { Env, PlaybackConfig, SearchBackend } from '#contracts/env';
import { featureFlags } from '#lib/feature-flags';
import { StackNames } from '#lib/metadata';
import { applyNag } from '#lib/nag';
import { ApiStack, type DeliveryOptions } from '#lib/stacks/api-stack';
import { AuthStack } from '#lib/stacks/auth-stack';
import { DataStack } from '#lib/stacks/data-stack';
import { EdgeStack } from '#lib/stacks/edge-stack';
import { ObservabilityStack } from '#lib/stacks/observability-stack';
import { PipelineStack } from '#lib/stacks/pipeline-stack';
import type { Transcoder } from '#lib/constructs/transcode-workflow';
import type { UploadLimits } from '#lib/constructs/video-api';
import type { HostedUiOptions } from '#lib/constructs/user-accounts';
import type { WebAclRateLimits } from '#lib/constructs/web-acl';
import { stageConfig, type StageConfig } from '#lib/stages';

/** Context keys the app reads (`cdk synth -c key=value` or cdk.json `context`). */
export const ContextKeys = {
  /**
   * `dev` (default) or `prod`: retention, protection, log retention, release strategy and alarm
   * thresholds, all in `lib/stages.ts`.
   */
  stage: 'stage',
  /** An email address the alarm topic notifies (AWS mails it a confirmation link first). */
  alarmEmail: 'alarmEmail',
  /**
   * Browser origins for S3 uploads and the API: a JSON array, a comma-separated list, or `*`.
   * Default: the web app's origin when `appUrl` or `domainName` gives it, else `*`.
   */
  allowedOrigins: 'allowedOrigins',
  /** Cognito feature plan: `plus` (default), `essentials` or `lite`. */
  cognitoFeaturePlan: 'cognitoFeaturePlan',
  /** Prefix of the hosted UI's Cognito domain (default `<auth stack name>-<account id>`). */
  authDomainPrefix: 'authDomainPrefix',
  /**
   * The web app's URL the hosted UI returns to (`<appUrl>/auth/callback`); default
   * `https://<domainName>` when a custom domain is set, else `http://localhost:3000`. The
   * CloudFront URL is only known after the first deploy: pass it here and deploy again.
   */
  appUrl: 'appUrl',
  /** Largest accepted upload, bytes. */
  uploadMaxBytes: 'uploadMaxBytes',
  /** Preferred multipart part size, bytes (≥ 5 MiB). */
  uploadPartSizeBytes: 'uploadPartSizeBytes',
  /** Lifetime of presigned part URLs, seconds. */
  uploadUrlTtlSeconds: 'uploadUrlTtlSeconds',
  /** Upload starts per user in any rolling hour. */
  uploadStartsPerHour: 'uploadStartsPerHour',
  /** Transcoder: `ffmpeg` (default; chunked, in Lambda) or `mediaconvert` (AWS Elemental MediaConvert). */
  transcoder: 'transcoder',
  /** Media segment length, seconds (default 6). */
  segmentSeconds: 'segmentSeconds',
  /** Target transcode chunk length, seconds, a multiple of the segment length (default 60). */
  chunkSeconds: 'chunkSeconds',
  /** Only these rungs, e.g. `1080p,720p,360p,144p` (benchmarks, cost control); default all that fit. */
  ladderRungs: 'ladderRungs',
  /** Chunks transcoded at once (the Map's MaxConcurrency); 0 (default) for no limit of ours. */
  chunkConcurrency: 'chunkConcurrency',
  /** A custom domain for the CDN (web app, API, media), e.g. `video.example.com`; needs `certificateArn`. */
  domainName: 'domainName',
  /** ARN of an ACM certificate in us-east-1 covering `domainName`; needs `domainName`. */
  certificateArn: 'certificateArn',
  /** Lifetime of signed playback URLs beyond the video's duration, seconds (default 7200). */
  playbackTtlSeconds: 'playbackTtlSeconds',
  /** Search backend: `embedded` (default; MiniSearch with its snapshot in S3) or `opensearch` (an Amazon OpenSearch Service domain). */
  search: 'search',
  /** WAF: API requests per viewer IP in five minutes (default: the stage's, `lib/stages.ts`). */
  wafApiRequestsPerIp: 'wafApiRequestsPerIp',
  /** WAF: all requests per IP in five minutes (default: the stage's, `lib/stages.ts`). */
  wafRequestsPerIp: 'wafRequestsPerIp',
  /**
   * ARN of an existing `CLOUDFRONT` web ACL (us-east-1) for the distribution; default: one made by
   * the app (in the api stack in us-east-1, else in the `Vodstack-Edge` stack in us-east-1).
   */
  cloudFrontWebAclArn: 'cloudFrontWebAclArn',
} as const;

/** Options of {@link buildApp}; each one overrides its context key. */
export interface BuildAppOptions {
  /**
   * Browser origins allowed to upload to S3 and call the API.
   * @default - context `allowedOrigins`; else the web app's origin when it is known (context
   * `appUrl`, else `domainName`); else `['*']`
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Cognito feature plan.
   * @default - context `cognitoFeaturePlan`, else `FeaturePlan.PLUS`
   */
  readonly cognitoFeaturePlan?: FeaturePlan;
  /**
   * Upload limits.
   * @default - context `uploadMaxBytes`, `uploadPartSizeBytes`, `uploadUrlTtlSeconds`,
   * `uploadStartsPerHour`, each else its `UploadDefaults` value
   */
  readonly uploads?: UploadLimits;
  /**
   * Transcoding options.
   * @default - context `transcoder`, `segmentSeconds`, `chunkSeconds`, `chunkConcurrency`, each
   * else the pipeline's default (ffmpeg, 6 s, 60 s, no limit)
   */
  readonly pipeline?: PipelineOptions;
  /**
   * CDN options.
   * @default - context `domainName` with `certificateArn`, `playbackTtlSeconds`; else the
   * `*.cloudfront.net` name, `PlaybackDefaults.ttlSeconds`, and `web/dist` (built when missing)
   */
  readonly delivery?: DeliveryOptions;
  /**
   * The web app's production build (a folder with `index.html`); overrides `delivery.webAppDir`.
   * @default - `web/dist`, built with `npm run build:web` when missing
   */
  readonly webAppDir?: string;
  /**
   * The stage's config.
   * @default - context `stage`, else `Stages.dev`
   */
  readonly stage?: StageConfig;
  /**
   * Account and region of every stack. The region must be concrete: a TableV2 encrypted with a
   * customer-managed key renders its per-replica key by region.
   * @default - `CDK_DEFAULT_ACCOUNT` (may stay unknown) and `CDK_DEFAULT_REGION`, which the CDK
   * CLI sets from the deploying profile; `us-east-1` when neither is set (in-process synth)
   */
  readonly env?: Environment;
}

/** Transcoding options of {@link buildApp}. */
export interface PipelineOptions {
  readonly transcoder?: Transcoder;
  readonly segmentSeconds?: number;
  readonly chunkSeconds?: number;
  readonly chunkConcurrency?: number;
  readonly ladderRungs?: readonly string[];
}

/** The app's stacks. */
export interface VodstackStacks {
  readonly data: DataStack;
  readonly auth: AuthStack;
  readonly pipeline: PipelineStack;
  readonly api: ApiStack;
  readonly observability: ObservabilityStack;
  /** The CloudFront web ACL's stack in us-east-1, when the app is elsewhere and no ARN was given. */
  readonly edge?: EdgeStack;
}

/**
 * Builds the whole platform into `app`: the stacks, tags, and cdk-nag (AwsSolutions and
 * Serverless packs) as a validation plugin, so `app.synth()` fails on any finding not
 * acknowledged with a reason. `bin/app.ts` and local mode both call this on a fresh `App`, so
 * they synthesize the same templates.
 *
 * Cross-stack references follow the pinned `@aws-cdk/core:defaultCrossStackReferences` flag
 * (`weak`): a consumer reads a producer's output with `Fn::GetStackOutput`, without exports.
 */
export function buildApp(app: App, opts: BuildAppOptions = {}): VodstackStacks {
  applyFeatureFlags(app);
  const allowedOrigins = opts.allowedOrigins ?? parseAllowedOrigins(app);
  const cognitoFeaturePlan = opts.cognitoFeaturePlan ?? parseFeaturePlan(app.node.tryGetContext(ContextKeys.cognitoFeaturePlan));
  const uploads = opts.uploads ?? parseUploadLimits(app);
  const pipelineOptions = opts.pipeline ?? parsePipelineOptions(app);
  const delivery = { ...(opts.delivery ?? parseDeliveryContext(app)), ...(opts.webAppDir ? { webAppDir: opts.webAppDir } : {}) };
  const stage = opts.stage ?? stageConfig(app.node.tryGetContext(ContextKeys.stage));
  const env = opts.env ?? {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: process.env.CDK_DEFAULT_REGION ?? 'us-east-1',
  };

  const data = new DataStack(app, StackNames.data, { env, allowedOrigins, stage });
  const auth = new AuthStack(app, StackNames.auth, { env, featurePlan: cognitoFeaturePlan, hostedUi: parseHostedUi(app), stage });
  const pipeline = new PipelineStack(app, StackNames.pipeline, {
    env,
    table: data.videos.table,
    rawBucket: data.buckets.raw,
    mediaBucket: data.buckets.media,
    ...pipelineOptions,
    search: parseSearchBackend(app.node.tryGetContext(ContextKeys.search)),
    stage,
  });
  const waf = parseWafContext(app);
  // A CLOUDFRONT web ACL must be created in us-east-1: in the api stack when it is there, else in
  // a small stack of its own there (read across regions with Fn::GetStackOutput), unless given.
  const edge =
    waf.cdnWebAclArn === undefined && env.region !== 'us-east-1'
      ? new EdgeStack(app, StackNames.edge, { env: { account: env.account, region: 'us-east-1' }, rateLimits: waf.rateLimits })
      : undefined;
  const api = new ApiStack(app, StackNames.api, {
    env,
    table: data.videos.table,
    rawBucket: data.buckets.raw,
    mediaBucket: data.buckets.media,
    userPool: auth.accounts.userPool,
    userPoolClient: auth.accounts.client,
    playbackKey: data.playbackKey.secret,
    cdnLogBucket: data.buckets.cdnLogs,
    searchIndex: pipeline.search,
    searchCursorKey: data.searchCursorKey.secret,
    workflow: pipeline.workflow.stateMachine,
    allowedOrigins,
    uploads,
    delivery,
    stage,
    waf: { rateLimits: waf.rateLimits, cdnWebAclArn: waf.cdnWebAclArn ?? edge?.webAcl.arn },
  });
  // Explicit, so grants on the data stack's keys know the consumer depends on the producer.
  pipeline.addStackDependency(data, 'grants on the table, the buckets and the raw bucket key');
  api.addStackDependency(data, 'grants on the table, the raw bucket and playback keys; CloudFront reads the media bucket');
  api.addStackDependency(auth, 'the authorizer trusts the user pool');
  api.addStackDependency(pipeline, 'the complete-upload route starts the workflow');
  if (edge) api.addStackDependency(edge, 'the distribution is screened by the CloudFront web ACL');
  const observability = new ObservabilityStack(app, StackNames.observability, {
    env,
    stage,
    api: api.api,
    delivery: api.delivery,
    workflow: pipeline.workflow,
    triggers: pipeline.triggers,
    search: pipeline.search,
    alarmEmail: parseAlarmEmail(app.node.tryGetContext(ContextKeys.alarmEmail)),
  });
  observability.addStackDependency(api, 'the dashboard and alarms watch the API and its functions');
  observability.addStackDependency(pipeline, 'the dashboard and alarms watch the workflow, queues and functions');

  Tags.of(app).add('project', 'vodstack');
  for (const [stack, lifecycle] of [
    [data, 'stateful'],
    [auth, 'stateful'],
    [pipeline, 'stateless'],
    [api, 'stateless'],
    [observability, 'stateless'],
    ...(edge ? [[edge, 'stateless'] as const] : []),
  ] as const) {
    Tags.of(stack).add('vodstack:lifecycle', lifecycle);
  }

  applyNag(app);
  return { data, auth, pipeline, api, observability, ...(edge ? { edge } : {}) };
}

/** Sets every pinned feature flag the caller has not set, before any stack exists. */
function applyFeatureFlags(app: App): void {
  if (app.node.children.length > 0) {
    throw new Error('buildApp needs a fresh App: feature flags must be set before any construct is added');
  }
  for (const [flag, value] of Object.entries(featureFlags)) {
    if (app.node.tryGetContext(flag) === undefined) app.node.setContext(flag, value);
  }
}

/**
 * Browser origins for CORS (API and buckets): context `allowedOrigins`; else the web app's own
 * origin, when context `appUrl` or `domainName` names it, so a deploy that knows its address
 * admits no other site; else `*` (the CloudFront name is only known after the first deploy: pass
 * it as `appUrl` and deploy again). The web app itself calls the API on its own origin.
 */
function parseAllowedOrigins(app: App): string[] {
  const given: unknown = app.node.tryGetContext(ContextKeys.allowedOrigins);
  if (given !== undefined && given !== null && given !== '') return parseOrigins(given);
  const appUrl = parseHostedUi(app).appUrl;
  return appUrl ? [new URL(appUrl).origin] : ['*'];
}

/** Accepts `["https://a","https://b"]`, `https://a,https://b`, `*` or an array. */
export function parseOrigins(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return ['*'];
  if (Array.isArray(value)) return value.map(String);
  const text = String(value).trim();
  const list: unknown = text.startsWith('[') ? JSON.parse(text) : text.split(',');
  if (!Array.isArray(list)) throw new Error(`context ${ContextKeys.allowedOrigins}: expected a list of origins`);
  const origins = list.map((o) => String(o).trim()).filter(Boolean);
  for (const origin of origins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new Error(`context ${ContextKeys.allowedOrigins}: "${origin}" is not an origin (scheme://host[:port], no path)`);
    }
  }
  return origins.length > 0 ? origins : ['*'];
}

/** The hosted UI's domain prefix and app URL from context (`authDomainPrefix`, `appUrl`, `domainName`). */
function parseHostedUi(app: App): HostedUiOptions {
  const text = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value).trim();
  };
  const domainPrefix = text(ContextKeys.authDomainPrefix);
  if (domainPrefix !== undefined && (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(domainPrefix) || /aws|amazon|cognito/.test(domainPrefix))) {
    throw new Error(
      `context ${ContextKeys.authDomainPrefix}: "${domainPrefix}" must be 1-63 lower-case letters, digits or hyphens, without "aws", "amazon" or "cognito"`,
    );
  }
  const customDomain = text(ContextKeys.domainName);
  const appUrl = text(ContextKeys.appUrl) ?? (customDomain ? `https://${customDomain}` : undefined);
  return { ...(domainPrefix ? { domainPrefix } : {}), ...(appUrl ? { appUrl } : {}) };
}

function parseFeaturePlan(value: unknown): FeaturePlan {
  if (value === undefined || value === null || value === '') return FeaturePlan.PLUS;
  const plans: Record<string, FeaturePlan> = {
    plus: FeaturePlan.PLUS,
    essentials: FeaturePlan.ESSENTIALS,
    lite: FeaturePlan.LITE,
  };
  const plan = plans[String(value).toLowerCase()];
  if (!plan) throw new Error(`context ${ContextKeys.cognitoFeaturePlan}: expected plus, essentials or lite, got "${String(value)}"`);
  return plan;
}

/** Reads the upload limits from context; a value that is not a positive whole number fails synth. */
function parseUploadLimits(app: App): UploadLimits {
  const read = (key: string): number | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`context ${key}: expected a positive whole number, got "${String(value)}"`);
    return n;
  };
  const partSizeBytes = read(ContextKeys.uploadPartSizeBytes);
  if (partSizeBytes !== undefined && partSizeBytes < 5 * 1024 * 1024) {
    throw new Error(`context ${ContextKeys.uploadPartSizeBytes}: S3 parts must be at least 5 MiB (5242880 bytes)`);
  }
  const limits = {
    maxBytes: read(ContextKeys.uploadMaxBytes),
    partSizeBytes,
    urlTtlSeconds: read(ContextKeys.uploadUrlTtlSeconds),
    startsPerHour: read(ContextKeys.uploadStartsPerHour),
  };
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) as UploadLimits;
}

/** Reads the transcoding options from context; a bad value fails synth with the key's name. */
function parsePipelineOptions(app: App): PipelineOptions {
  const number = (key: string, min: number, integer: boolean): number | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isSafeInteger(n))) {
      throw new Error(`context ${key}: expected ${integer ? 'a whole number' : 'a number'} ≥ ${min}, got "${String(value)}"`);
    }
    return n;
  };
  const transcoderValue: unknown = app.node.tryGetContext(ContextKeys.transcoder);
  let transcoder: Transcoder | undefined;
  if (transcoderValue !== undefined && transcoderValue !== null && transcoderValue !== '') {
    const name = String(transcoderValue).toLowerCase();
    if (name !== 'ffmpeg' && name !== 'mediaconvert') {
      throw new Error(`context ${ContextKeys.transcoder}: expected ffmpeg or mediaconvert, got "${String(transcoderValue)}"`);
    }
    transcoder = name;
  }
  const options: PipelineOptions = {
    transcoder,
    segmentSeconds: number(ContextKeys.segmentSeconds, 1, false),
    chunkSeconds: number(ContextKeys.chunkSeconds, 1, false),
    chunkConcurrency: number(ContextKeys.chunkConcurrency, 0, true),
    ladderRungs: parseRungs(app.node.tryGetContext(ContextKeys.ladderRungs)),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as PipelineOptions;
}

/** Reads the CDN options from context; a bad value fails synth with the key's name. */
function parseDeliveryContext(app: App): DeliveryOptions {
  const text = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value).trim();
  };
  const domainName = text(ContextKeys.domainName);
  const certificateArn = text(ContextKeys.certificateArn);
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new Error(`context ${ContextKeys.domainName} and ${ContextKeys.certificateArn}: give both (a custom domain needs its certificate) or neither`);
  }
  if (domainName !== undefined && !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(domainName)) {
    throw new Error(`context ${ContextKeys.domainName}: "${domainName}" is not a domain name`);
  }
  if (certificateArn !== undefined && !/^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[\w-]+$/.test(certificateArn)) {
    throw new Error(`context ${ContextKeys.certificateArn}: expected an ACM certificate ARN in us-east-1 (CloudFront only uses those), got "${certificateArn}"`);
  }
  const ttl = text(ContextKeys.playbackTtlSeconds);
  let playbackTtlSeconds: number | undefined;
  if (ttl !== undefined) {
    const parsed = PlaybackConfig.shape[Env.playbackTtlSeconds].safeParse(ttl);
    if (!parsed.success) throw new Error(`context ${ContextKeys.playbackTtlSeconds}: expected whole seconds from 60 to 604800, got "${ttl}"`);
    playbackTtlSeconds = parsed.data;
  }
  return {
    ...(domainName && certificateArn ? { domain: { domainName, certificateArn } } : {}),
    ...(playbackTtlSeconds !== undefined ? { playbackTtlSeconds } : {}),
  };
}

/**
 * The WAF context keys over the stage's limits (`lib/stages.ts`, context `stage`); a limit that is
 * not a whole number ≥ 10 fails synth with the key's name.
 */
function parseWafContext(app: App): { rateLimits: WebAclRateLimits; cdnWebAclArn?: string } {
  const defaults = stageConfig(app.node.tryGetContext('stage')).waf;
  const limit = (key: string, fallback: number): number => {
    const value: unknown = app.node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return fallback;
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 10) throw new Error(`context ${key}: expected a whole number ≥ 10 (requests per IP in five minutes), got "${String(value)}"`);
    return n;
  };
  const arn: unknown = app.node.tryGetContext(ContextKeys.cloudFrontWebAclArn);
  const cdnWebAclArn = arn === undefined || arn === null || arn === '' ? undefined : String(arn).trim();
  if (cdnWebAclArn !== undefined && !/^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/[\w-]+\/[\w-]+$/.test(cdnWebAclArn)) {
    throw new Error(`context ${ContextKeys.cloudFrontWebAclArn}: expected a CLOUDFRONT-scoped WAFv2 web ACL ARN in us-east-1 (arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>), got "${cdnWebAclArn}"`);
  }
  return {
    rateLimits: {
      apiRequestsPerIp: limit(ContextKeys.wafApiRequestsPerIp, defaults.apiRequestsPerIp),
      requestsPerIp: limit(ContextKeys.wafRequestsPerIp, defaults.requestsPerIp),
    },
    ...(cdnWebAclArn ? { cdnWebAclArn } : {}),
  };
}

/** Context `alarmEmail` → the address, if any; something that is not one fails synth. */
function parseAlarmEmail(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const email = String(value).trim();
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw new Error(`context ${ContextKeys.alarmEmail}: "${email}" is not an email address`);
  return email;
}

/** Context `search` → the backend; absent means `embedded`, anything else unknown fails synth. */
function parseSearchBackend(value: unknown): SearchBackend {
  if (value === undefined || value === null || value === '') return 'embedded';
  const parsed = SearchBackend.safeParse(String(value).toLowerCase());
  if (!parsed.success) throw new Error(`context ${ContextKeys.search}: expected embedded or opensearch, got "${String(value)}"`);
  return parsed.data;
}

/** `1080p,720p` or a JSON array → rung names; each must be one of the ladder's. */
function parseRungs(value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const list = Array.isArray(value) ? value.map(String) : String(value).split(',').map((s) => s.trim()).filter(Boolean);
  const known = ['144p', '240p', '360p', '480p', '720p', '1080p', '1440p', '2160p'];
  const unknown = list.filter((r) => !known.includes(r));
  if (unknown.length || list.length === 0) {
    throw new Error(`context ${ContextKeys.ladderRungs}: expected rungs among ${known.join(', ')}, got "${String(value)}"`);
  }
  return list;
}
