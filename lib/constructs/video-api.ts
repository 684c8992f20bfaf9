import { Arn, ArnFormat, Aws, RemovalPolicy, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  CognitoUserPoolsAuthorizer,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
  type IResource,
  type RequestValidator,
} from 'aws-cdk-lib/aws-apigateway';
import type { IUserPool, IUserPoolClient } from 'aws-cdk-lib/aws-cognito';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { Env, PlaybackDefaults, UploadDefaults } from '#contracts/env';
import { routes, type Route, type RouteId } from '#contracts/routes';
import { AppFunction, type MediaBucketAccess, type PosterUploadAccess, type RawBucketAccess, type TableAccess } from '#lib/constructs/app-function';
import { Metadata, ResourceRole } from '#lib/metadata';
import type { SearchIndex, SearchIndexAccess } from '#lib/constructs/search-index';
import { acknowledgeResource } from '#lib/nag';

/** Upload limits handed to the upload routes as env vars; each defaults to `UploadDefaults`. */
export interface UploadLimits {
  /** @default UploadDefaults.maxBytes */
  readonly maxBytes?: number;
  /** @default UploadDefaults.partSizeBytes */
  readonly partSizeBytes?: number;
  /** @default UploadDefaults.urlTtlSeconds */
  readonly urlTtlSeconds?: number;
  /** @default UploadDefaults.startsPerHour */
  readonly startsPerHour?: number;
}

/** Props of {@link VideoApi}. */
export interface VideoApiProps {
  /** The single table. */
  readonly table: ITableV2;
  /** The bucket originals are uploaded to. */
  readonly rawBucket: IBucket;
  /** The bucket the pipeline publishes media to (deleting a video removes its media). */
  readonly mediaBucket: IBucket;
  /** The user pool whose ID tokens the authorizer (and each optional-auth handler) accepts. */
  readonly userPool: IUserPool;
  /** The app client ID tokens are issued to; optional-auth handlers check a token's audience. */
  readonly userPoolClient: IUserPoolClient;
  /**
   * The transcode workflow the CompleteUpload route starts (`states:StartExecution`,
   * `Env.workflowArn`), and DeleteVideo and DeleteMe stop (`states:StopExecution`).
   * @default - no workflow: completing an upload only marks it `uploaded`, and the raw bucket's
   * Object Created event starts the workflow
   */
  readonly workflow?: IStateMachine;
  /**
   * Origins allowed to call the API from a browser (CORS).
   * @default ['*']
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Steady-state requests per second across the stage.
   * @default 50
   */
  readonly throttlingRateLimit?: number;
  /**
   * Burst of requests the stage absorbs above the rate.
   * @default 100
   */
  readonly throttlingBurstLimit?: number;
  /**
   * Upload limits for the upload routes.
   * @default - `UploadDefaults` from `#contracts/env`
   */
  readonly uploads?: UploadLimits;
  /**
   * Stage name (the first path segment of the invoke URL).
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * How long access logs and function logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * Key that encrypts the access log group and the route functions' log groups.
   * @default - a new customer-managed key with yearly rotation that admits CloudWatch Logs
   */
  readonly logEncryptionKey?: IKey;
  /**
   * The search index the search and feed routes read (`search` in a route's access).
   * @default - none: synthesis fails if a route needs it
   */
  readonly searchIndex?: SearchIndex;
  /**
   * The `{"key"}` secret search cursors are signed with (`Env.searchCursorSecret`, read).
   * @default - none: synthesis fails if a route needs it
   */
  readonly searchCursorKey?: ISecret;
}

/** Where playback URLs point and how they are signed: bound by {@link VideoApi.usePlayback}. */
export interface PlaybackBinding {
  /** Base URL of the CDN, e.g. `https://d111.cloudfront.net` (`Env.cdnUrl`). */
  readonly cdnUrl: string;
  /** The `{"kid","key"}` secret playback URLs are signed with (`Env.playbackKeySecret`, read). */
  readonly signingKey: ISecret;
  /**
   * Lifetime of signed URLs beyond the video's duration, seconds (`Env.playbackTtlSeconds`).
   * @default PlaybackDefaults.ttlSeconds
   */
  readonly ttlSeconds?: number;
}

/**
 * What each route may touch. A route added to the table fails to compile until it is listed here.
 * `auth: 'optional'` routes also get the user pool's ids (from the route table, not from here).
 */
interface RouteAccess {
  /** The table, if the route uses it. */
  readonly table?: TableAccess;
  readonly raw?: readonly RawBucketAccess[];
  readonly media?: readonly MediaBucketAccess[];
  /** Whether the route reads the upload limits (`Env.upload*`). */
  readonly uploadConfig?: boolean;
  /** Whether the route starts the transcode workflow. */
  readonly startsWorkflow?: boolean;
  /** Whether the route hands out playback URLs: the CDN URL, the signing key (read), their lifetime. */
  readonly playback?: boolean;
  /** Whether the route stops a video's running transcode (`states:StopExecution` on the workflow's executions). */
  readonly stopsWorkflow?: boolean;
  /** Whether the route deletes users from the pool (`cognito-idp:AdminDeleteUser`, `Env.userPoolId`). */
  readonly deletesUsers?: boolean;
  /** How the route uses the search index (its env and grants come from `SearchIndex.bind`). */
  readonly search?: SearchIndexAccess;
  /** Whether the route signs and verifies search cursors (the cursor key, read). */
  readonly searchCursor?: boolean;
  /** How the route uses creator-uploaded poster images (`videos/<id>/thumbs/custom-*` only). */
  readonly posterUploads?: PosterUploadAccess;
  /**
   * Whether the route checks every dependency (the health route): one read-only describe-style
   * action on each, and the names of all of them in its env (see `grantHealthChecks`).
   */
  readonly checksHealth?: boolean;
}

const routeAccess: Record<RouteId, RouteAccess> = {
  StartUpload: { table: 'readWrite', raw: ['upload'], uploadConfig: true },
  GetUpload: { table: 'read', raw: ['upload', 'listParts'], uploadConfig: true },
  CompleteUpload: { table: 'readWrite', raw: ['upload', 'read'], uploadConfig: true, startsWorkflow: true },
  AbortUpload: { table: 'readWrite', raw: ['abort'], uploadConfig: true },
  GetVideoStatus: { table: 'read' },
  GetVideo: { table: 'read' },
  GetStream: { table: 'read', playback: true },
  // Checks an uploaded poster image (size, first bytes) before it becomes the poster.
  UpdateVideo: { table: 'readWrite', posterUploads: 'read' },
  // Presigns the PUT of a poster image.
  StartPosterUpload: { table: 'read', posterUploads: 'sign' },
  // Summaries carry no media URLs (`VideoSummary`), so listing needs no signing key; set
  // `playback: true` here once it hands out poster URLs.
  ListMyVideos: { table: 'read' },
  // An open multipart upload, the original (a delete marker: the raw bucket is versioned), and
  // every published file under videos/<id>/.
  DeleteVideo: { table: 'readWrite', raw: ['abort', 'delete'], media: ['list', 'delete'], stopsWorkflow: true },
  // The profile is created on first read, so reading it may write.
  GetMe: { table: 'readWrite' },
  UpdateMe: { table: 'readWrite' },
  ExportMe: { table: 'read' },
  // Every video of the user as DeleteVideo deletes one, the user's partition, and the user.
  DeleteMe: { table: 'readWrite', raw: ['abort', 'delete'], media: ['list', 'delete'], stopsWorkflow: true, deletesUsers: true },
  // A view writes its mark, the video's counters, and (signed in) history and co-view items.
  RecordView: { table: 'readWrite' },
  // Feeds read the search index for candidates and re-check each one in the table.
  GetTrending: { table: 'read', search: 'read' },
  GetRelated: { table: 'read', search: 'read' },
  GetRecommendations: { table: 'read', search: 'read' },
  ListChannel: { table: 'read' },
  // Search needs no table: hits come from the index (the snapshot object, or OpenSearch).
  SearchVideos: { search: 'read', searchCursor: true },
  // Reads the search index as the search routes do; every other dependency by a describe call.
  GetHealth: { search: 'read', checksHealth: true },
};

/** `arn:…:execution:<state machine name>:*`, as `grantExecution` renders it. */
function executionsArn(workflow: IStateMachine): string {
  return `${Stack.of(workflow).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: Arn.split(workflow.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  })}:*`;
}

/** Headers a browser may send to the API. */
const corsAllowHeaders = ['Authorization', 'Content-Type', 'If-None-Match', 'If-Match', 'X-Amz-Date', 'X-Amz-Security-Token'];

/**
 * The public REST API, built from the one route table (`#contracts/routes`): one `AppFunction`
 * per route with exactly the access that route needs, a Cognito user-pool authorizer on every
 * `auth: 'user'` route (ID tokens), no authorizer on `auth: 'optional'` routes (their handlers
 * verify a token when one is sent), stage throttling, JSON access logs in an encrypted log group,
 * execution logs, X-Ray tracing, path-parameter validation, and CORS (preflight and gateway errors).
 * Routes that hand out playback URLs are bound to the CDN with {@link VideoApi.usePlayback}.
 *
 * Each route function carries `Metadata.route` (the route id) on its `AWS::Lambda::Function`, so
 * local mode finds a route's environment in the synthesized template.
 */
export class VideoApi extends Construct {
  /** The REST API (construct id `Resource`). */
  public readonly api: RestApi;
  /** The function of each route, by route id. */
  public readonly functions: Readonly<Record<RouteId, AppFunction>>;
  /** The stage's access log group. */
  public readonly accessLogs: LogGroup;
  /** The key the API's log groups are encrypted with. */
  public readonly logEncryptionKey: IKey;
  /**
   * The stage name, as a literal: a CloudFront origin in this stack must not reference the stage
   * resource, which depends (through the deployment) on every route function.
   */
  public readonly stageName: string;
  private playbackBound = false;

  constructor(scope: Construct, id: string, props: VideoApiProps) {
    super(scope, id);
    const allowedOrigins = [...(props.allowedOrigins ?? ['*'])];
    const logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;
    const limits = { ...UploadDefaults, ...props.uploads };
    this.stageName = props.stageName ?? 'prod';

    this.logEncryptionKey = props.logEncryptionKey ?? this.createLogKey();
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: logRetention,
      encryptionKey: this.logEncryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.api = new RestApi(this, 'Resource', {
      description: 'vodstack public API',
      endpointTypes: [EndpointType.REGIONAL],
      // Execution logs need the account-level API Gateway CloudWatch role.
      cloudWatchRole: true,
      deployOptions: {
        stageName: this.stageName,
        throttlingRateLimit: props.throttlingRateLimit ?? 50,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: accessLogFormat(),
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
      },
    });
    (this.api.node.defaultChild as CfnResource).addMetadata(Metadata.resource, ResourceRole.restApi);
    addCorsToGatewayErrors(this.api, allowedOrigins);

    const validator = this.api.addRequestValidator('PathParameters', {
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    // An authorizer no method uses fails synthesis, so it exists only if some route needs it.
    const needsAuthorizer = routes.some((r: Route) => r.auth === 'user');
    const authorizer = needsAuthorizer
      ? new CognitoUserPoolsAuthorizer(this, 'Authorizer', { cognitoUserPools: [props.userPool] })
      : undefined;

    const functions: Partial<Record<RouteId, AppFunction>> = {};
    const methodsByResource = new Map<IResource, Set<string>>();
    for (const route of routes) {
      const fn = new AppFunction(this, route.id, {
        module: route.handler,
        description: `${route.method} ${route.path}`,
        logRetention,
        logEncryptionKey: this.logEncryptionKey,
      });
      (fn.node.defaultChild as CfnResource).addMetadata(Metadata.route, route.id);
      Validations.of(fn).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: 'API Gateway invokes route functions synchronously and gets every error back; a DLQ only receives failed asynchronous invocations.',
      });
      const access: RouteAccess = routeAccess[route.id];
      if (access.table) fn.useTable(props.table, access.table);
      if (access.raw) fn.useRawBucket(props.rawBucket, ...access.raw);
      if (access.media) fn.useMediaBucket(props.mediaBucket, ...access.media);
      if (access.posterUploads) fn.usePosterUploads(props.mediaBucket, access.posterUploads);
      if (route.auth === 'optional') {
        fn.setEnv(Env.userPoolId, props.userPool.userPoolId).setEnv(Env.userPoolClientId, props.userPoolClient.userPoolClientId);
      }
      if (access.startsWorkflow && props.workflow) {
        fn.setEnv(Env.workflowArn, props.workflow.stateMachineArn);
        props.workflow.grantStartExecution(fn);
      }
      if (access.stopsWorkflow && props.workflow) {
        fn.setEnv(Env.workflowArn, props.workflow.stateMachineArn);
        props.workflow.grantExecution(fn, 'states:StopExecution');
        acknowledgeResource(
          fn,
          'AwsSolutions-IAM5',
          executionsArn(props.workflow),
          'states:StopExecution on the executions of the one transcode state machine; execution names are derived from video ids at run time.',
        );
      }
      if (access.search) {
        if (!props.searchIndex) throw new Error(`${this.node.path}: route ${route.id} reads the search index, but no searchIndex was given`);
        props.searchIndex.bind(fn, access.search);
      }
      if (access.searchCursor) {
        if (!props.searchCursorKey) throw new Error(`${this.node.path}: route ${route.id} signs search cursors, but no searchCursorKey was given`);
        fn.useSecret(Env.searchCursorSecret, props.searchCursorKey);
      }
      if (access.deletesUsers) {
        fn.setEnv(Env.userPoolId, props.userPool.userPoolId);
        props.userPool.grant(fn, 'cognito-idp:AdminDeleteUser');
      }
      if (access.checksHealth) this.grantHealthChecks(fn, props);
      if (access.uploadConfig) {
        fn.setEnv(Env.uploadMaxBytes, limits.maxBytes)
          .setEnv(Env.uploadPartSizeBytes, limits.partSizeBytes)
          .setEnv(Env.uploadUrlTtlSeconds, limits.urlTtlSeconds)
          .setEnv(Env.uploadStartsPerHour, limits.startsPerHour);
      }
      functions[route.id] = fn;

      const resource = this.api.root.resourceForPath(route.path);
      this.addRouteMethod(route, resource, fn, validator, authorizer);
      const methods = methodsByResource.get(resource) ?? new Set<string>();
      methods.add(route.method);
      methodsByResource.set(resource, methods);
    }
    this.functions = functions as Record<RouteId, AppFunction>;
    this.node.addValidation({
      validate: () =>
        !this.playbackBound && routes.some((r) => routeAccess[r.id].playback)
          ? ['VideoApi.usePlayback was never called: the routes that hand out playback URLs have no CDN URL or signing key']
          : [],
    });

    for (const [resource, methods] of methodsByResource) {
      const preflight = resource.addCorsPreflight({
        allowOrigins: allowedOrigins,
        allowMethods: [...methods, 'OPTIONS'],
        allowHeaders: corsAllowHeaders,
        exposeHeaders: ['ETag'],
      });
      acknowledgeUnauthenticated(preflight, 'CORS preflight (OPTIONS) is sent by browsers without credentials and answered by a mock integration.');
    }

    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'Path parameters are validated by API Gateway; bodies are parsed by each handler with the zod schemas in #contracts/api, so every client gets the same error shape locally and on AWS.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'The account-level role API Gateway assumes to write execution logs; AWS maintains the policy for exactly that purpose.',
      },
    );
  }

  /**
   * Binds the routes that hand out playback URLs (`playback: true`) to the CDN: sets `Env.cdnUrl`,
   * `Env.playbackKeySecret` and `Env.playbackTtlSeconds`, and grants reading the signing key. A
   * method rather than a prop because the CDN fronts this API, so it is built after it.
   */
  public usePlayback(binding: PlaybackBinding): void {
    if (this.playbackBound) throw new Error(`${this.node.path}: usePlayback was already called`);
    this.playbackBound = true;
    for (const route of routes.filter((r) => routeAccess[r.id].playback)) {
      this.functions[route.id]
        .setEnv(Env.cdnUrl, binding.cdnUrl)
        .setEnv(Env.playbackTtlSeconds, binding.ttlSeconds ?? PlaybackDefaults.ttlSeconds)
        .useSecret(Env.playbackKeySecret, binding.signingKey);
    }
    for (const route of routes.filter((r) => routeAccess[r.id].checksHealth)) {
      const fn = this.functions[route.id].setEnv(Env.playbackKeySecret, binding.signingKey.secretArn);
      Grant.addToPrincipal({ grantee: fn, actions: ['secretsmanager:DescribeSecret'], resourceArns: [binding.signingKey.secretArn] });
    }
  }

  /**
   * The health route's grants: `DescribeTable`, `ListBucket` (HeadBucket) on each bucket,
   * `DescribeUserPool`, `ListExecutions` on the workflow, `DescribeSecret` on the cursor key (the
   * playback key comes with {@link usePlayback}); never a data read or write.
   */
  private grantHealthChecks(fn: AppFunction, props: VideoApiProps): void {
    fn.setEnv(Env.tableName, props.table.tableName)
      .setEnv(Env.rawBucket, props.rawBucket.bucketName)
      .setEnv(Env.mediaBucket, props.mediaBucket.bucketName)
      .setEnv(Env.userPoolId, props.userPool.userPoolId);
    Grant.addToPrincipal({ grantee: fn, actions: ['dynamodb:DescribeTable'], resourceArns: [props.table.tableArn] });
    Grant.addToPrincipal({ grantee: fn, actions: ['s3:ListBucket'], resourceArns: [props.rawBucket.bucketArn, props.mediaBucket.bucketArn] });
    props.userPool.grant(fn, 'cognito-idp:DescribeUserPool');
    if (props.workflow) {
      fn.setEnv(Env.workflowArn, props.workflow.stateMachineArn);
      props.workflow.grant(fn, 'states:ListExecutions');
    }
    if (props.searchCursorKey) {
      fn.setEnv(Env.searchCursorSecret, props.searchCursorKey.secretArn);
      Grant.addToPrincipal({ grantee: fn, actions: ['secretsmanager:DescribeSecret'], resourceArns: [props.searchCursorKey.secretArn] });
    }
  }

  /** The stage's invoke URL (ends with `/`). */
  public get url(): string {
    return this.api.url;
  }

  private addRouteMethod(
    route: Route,
    resource: IResource,
    fn: AppFunction,
    validator: RequestValidator,
    authorizer: CognitoUserPoolsAuthorizer | undefined,
  ): void {
    const user = route.auth === 'user';
    const method = resource.addMethod(route.method, new LambdaIntegration(fn.live, { allowTestInvoke: false }), {
      operationName: route.id,
      authorizationType: user ? AuthorizationType.COGNITO : AuthorizationType.NONE,
      authorizer: user ? authorizer : undefined,
      requestValidator: validator,
      requestParameters: Object.fromEntries(pathParameters(route.path).map((p) => [`method.request.path.${p}`, true])),
    });
    if (route.auth === 'optional') {
      acknowledgeUnauthenticated(
        method,
        `Route ${route.id} has optional auth by the route table: anyone may call it, and its handler verifies an ID token when one is sent (an API Gateway authorizer cannot be optional).`,
      );
    } else if (!user) {
      acknowledgeUnauthenticated(method, `Route ${route.id} is public by the route table (auth: 'public').`);
    }
  }

  private createLogKey(): Key {
    const key = new Key(this, 'LogsKey', {
      description: 'Encrypts the vodstack API access and function logs',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch Logs encrypts with the key on the log groups' behalf, scoped to this account's groups.
    key.grantEncryptDecrypt(new ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)).resourceStatement?.addCondition(
      'ArnLike',
      { 'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*` },
    );
    return key;
  }
}

/** `{id}` segments of an API Gateway path. */
export function pathParameters(path: string): string[] {
  return [...path.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => m[1] as string);
}

function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: AccessLogField.contextRequestId(),
      extendedRequestId: AccessLogField.contextExtendedRequestId(),
      time: AccessLogField.contextRequestTime(),
      ip: AccessLogField.contextIdentitySourceIp(),
      userAgent: AccessLogField.contextIdentityUserAgent(),
      caller: AccessLogField.contextAuthorizerClaims('sub'),
      method: AccessLogField.contextHttpMethod(),
      resourcePath: AccessLogField.contextResourcePath(),
      path: AccessLogField.contextPath(),
      protocol: AccessLogField.contextProtocol(),
      status: AccessLogField.contextStatus(),
      responseLength: AccessLogField.contextResponseLength(),
      responseLatency: AccessLogField.contextResponseLatency(),
      integrationLatency: AccessLogField.contextIntegrationLatency(),
      integrationStatus: AccessLogField.contextIntegrationStatus(),
      error: AccessLogField.contextErrorMessage(),
      authorizerError: AccessLogField.contextAuthorizerError(),
      xrayTraceId: AccessLogField.contextXrayTraceId(),
    }),
  );
}

/**
 * API Gateway's own 4XX/5XX answers (authorizer 401, throttling 429, validation 400) carry CORS
 * headers too, or a browser reports them as network errors. One allowed origin is returned as is;
 * several are answered by echoing the caller's Origin (these bodies carry no user data).
 */
function addCorsToGatewayErrors(api: RestApi, allowedOrigins: readonly string[]): void {
  const origin =
    allowedOrigins.includes('*') || allowedOrigins.length === 0
      ? "'*'"
      : allowedOrigins.length === 1
        ? `'${allowedOrigins[0]}'`
        : 'method.request.header.Origin';
  const responseHeaders: Record<string, string> = {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Headers': `'${corsAllowHeaders.join(',')}'`,
  };
  if (origin !== "'*'") responseHeaders.Vary = "'Origin'";
  for (const type of [ResponseType.DEFAULT_4XX, ResponseType.DEFAULT_5XX]) {
    api.addGatewayResponse(`Cors${type.responseType}`, { type, responseHeaders });
  }
}

function acknowledgeUnauthenticated(scope: Construct, reason: string): void {
  Validations.of(scope).acknowledge({ id: 'AwsSolutions-APIG4', reason }, { id: 'AwsSolutions-COG4', reason });
}

