import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Annotations, DefaultStackSynthesizer, Duration, RemovalPolicy, Stack, Token, Validations, type CfnResource } from 'aws-cdk-lib';
import type { IRestApi } from 'aws-cdk-lib/aws-apigateway';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AllowedMethods,
  CacheCookieBehavior,
  CachedMethods,
  CacheHeaderBehavior,
  CachePolicy,
  CacheQueryStringBehavior,
  Distribution,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  Function as EdgeFunction,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginRequestPolicy,
  ResponseHeadersPolicy,
  S3OriginAccessControl,
  SecurityPolicyProtocol,
  Signing,
  SSLMethod,
  ViewerProtocolPolicy,
  type BehaviorOptions,
  type IOrigin,
  type ResponseSecurityHeadersBehavior,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { IUserPool, IUserPoolClient } from 'aws-cdk-lib/aws-cognito';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type IBucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PlaybackPaths } from '#contracts/playback';
import { PROJECT_ROOT } from '#lib/constructs/app-function';
import { PlaybackKeyStore } from '#lib/constructs/playback-key';
import { Metadata, ResourceRole } from '#lib/metadata';
import { acknowledgeResource } from '#lib/nag';
import { ensureWebBuild } from '#lib/web-build';

/** The viewer-request function that admits signed playback URLs (`#contracts/playback`). */
export const PLAYBACK_ACCESS_FUNCTION = path.join(PROJECT_ROOT, 'lambdas', 'edge', 'playback-access.js');

/** The viewer-request function of the web app: its routes get `index.html` (SPA fallback). */
export const APP_ROUTES_FUNCTION = path.join(PROJECT_ROOT, 'lambdas', 'edge', 'app-routes.js');

/** Path patterns of the media behaviours, most specific first (CloudFront takes the first match). */
export const MediaPaths = {
  /** Manifests and the storyboard index: short TTL, compressed. */
  manifests: ['/v/*.m3u8', '/v/*.mpd', '/v/*.vtt'],
  /** Everything else under `/v/` (segments, init segments, images): long TTL. */
  rest: `${PlaybackPaths.prefix}*`,
} as const;

/** Path pattern of the API behaviour; the route table's paths all start with `/api/`. */
export const API_PATH = '/api/*';

/** A custom domain for the CDN. */
export interface DeliveryDomain {
  /** e.g. `video.example.com`; point its DNS at the distribution yourself. */
  readonly domainName: string;
  /** An ACM certificate in us-east-1 that covers `domainName`. */
  readonly certificate: ICertificate;
}

/** Props of {@link Delivery}. */
export interface DeliveryProps {
  /** The media bucket (`videos/*` must already admit CloudFront: see `MediaBuckets.media`). */
  readonly mediaBucket: IBucket;
  /** The REST API served under `/api/*`. */
  readonly api: IRestApi;
  /** The API's stage name, as a literal (see `VideoApi.stageName`). */
  readonly apiStageName: string;
  /** The playback signing key; the edge gets a copy in a KeyValueStore. */
  readonly signingKey: ISecret;
  /** The user pool and app client the web app signs in with (written to its `config.json`). */
  readonly userPool: IUserPool;
  readonly userPoolClient: IUserPoolClient;
  /** Where CloudFront writes standard logs (ACLs enabled). */
  readonly logBucket: IBucket;
  /**
   * A custom domain, served with TLS 1.2 (2021 policy) at least.
   * @default - the distribution's `*.cloudfront.net` name
   */
  readonly domain?: DeliveryDomain;
  /**
   * The web app's production build (a folder with `index.html`).
   * @default - `web/dist`, built with `npm run build:web` when missing
   */
  readonly webAppDir?: string;
  /**
   * How long the key sync function's logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * Key that encrypts the log groups of the key sync function and the web app deployment.
   * @default - CloudWatch Logs' own encryption at rest
   */
  readonly logEncryptionKey?: IKey;
  /**
   * ARN of the `CLOUDFRONT`-scoped WAF web ACL (us-east-1) that screens every request.
   * @default - none (cdk-nag's AwsSolutions-CFR2 then fails synthesis)
   */
  readonly webAclArn?: string;
}

/**
 * The CDN: one CloudFront distribution (HTTP/2 and HTTP/3, standard logs) in front of everything a
 * browser loads, so the web app, the API and the media share one origin.
 * - `/v/*`: media from the media bucket through origin access control. Every media behaviour runs
 *   `lambdas/edge/playback-access.js` (viewer request), which admits only signed playback URLs
 *   and rewrites them to `videos/<id>/…`, reading signing keys from a KeyValueStore
 *   ({@link PlaybackKeyStore}). Manifests and the storyboard index are cached briefly and
 *   compressed; segments and images for as long as the origin's `Cache-Control` says (the pipeline
 *   marks them immutable). Cache keys hold the path only: no query string, cookie or header.
 * - `/api/*`: the REST API, uncached, with every viewer header but Host (so `Authorization` too).
 * - everything else: the web app from its own private bucket, with app routes (paths without a
 *   file extension) answered with `/index.html` by a viewer-request function. Not by
 *   distribution-wide error responses, which would also turn a media 403 into the app's page.
 * Security headers everywhere (HSTS, nosniff, DENY framing, a CSP for the app); CORS for media.
 * Every request is screened by the WAF web ACL given as `webAclArn` (`VodstackWebAcl`, us-east-1).
 */
export class Delivery extends Construct {
  /** The distribution (construct id `Resource`). */
  public readonly distribution: Distribution;
  /** The web app's bucket. */
  public readonly webAppBucket: Bucket;
  /** The edge's copy of the playback signing key. */
  public readonly playbackKeys: PlaybackKeyStore;
  /** The viewer-request function of the media behaviours. */
  public readonly playbackAccess: EdgeFunction;
  /** The viewer-request function of the web app (app routes → `/index.html`). */
  public readonly appRoutes: EdgeFunction;

  private readonly domainName: string | undefined;

  constructor(scope: Construct, id: string, props: DeliveryProps) {
    super(scope, id);
    this.domainName = props.domain?.domainName;
    const region = Stack.of(this).region;
    const urlSuffix = Stack.of(this).urlSuffix;

    this.playbackKeys = new PlaybackKeyStore(this, 'PlaybackKeys', {
      signingKey: props.signingKey,
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
    });
    this.playbackAccess = new EdgeFunction(this, 'PlaybackAccess', {
      comment: 'vodstack: admits signed playback URLs under /v/ and rewrites them to the media bucket',
      code: FunctionCode.fromFile({ filePath: PLAYBACK_ACCESS_FUNCTION }),
      runtime: FunctionRuntime.JS_2_0,
      keyValueStore: this.playbackKeys.store,
    });
    this.appRoutes = new EdgeFunction(this, 'AppRoutes', {
      comment: 'vodstack: serves /index.html for web app routes (paths without a file extension)',
      code: FunctionCode.fromFile({ filePath: APP_ROUTES_FUNCTION }),
      runtime: FunctionRuntime.JS_2_0,
    });

    this.webAppBucket = new Bucket(this, 'WebApp', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Nothing but the build is in it, and the deployment below removes that first.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    (this.webAppBucket.node.defaultChild as CfnResource).addMetadata(Metadata.resource, ResourceRole.webAppBucket);
    Validations.of(this.webAppBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "Holds only the web app's build, written by the deployment and read only by CloudFront (origin access control), whose standard logs record every request; S3 server access logs would repeat them.",
    });

    const originAccessControl = new S3OriginAccessControl(this, 'OriginAccessControl', {
      description: 'vodstack: CloudFront reads the media and web app buckets',
      signing: Signing.SIGV4_ALWAYS,
    });
    // An imported reference, so the origin does not add a statement naming this distribution to
    // the media bucket's policy in the data stack (a cross-stack cycle): that stack grants
    // CloudFront read on videos/* itself (MediaBuckets.media).
    const mediaBucket = Bucket.fromBucketAttributes(this, 'MediaBucket', {
      bucketArn: props.mediaBucket.bucketArn,
      bucketRegionalDomainName: props.mediaBucket.bucketRegionalDomainName,
    });
    const mediaOrigin = S3BucketOrigin.withOriginAccessControl(mediaBucket, { originAccessControl });
    const webOrigin = S3BucketOrigin.withOriginAccessControl(this.webAppBucket, { originAccessControl });
    const apiOrigin = new HttpOrigin(`${props.api.restApiId}.execute-api.${region}.${urlSuffix}`, {
      originPath: `/${props.apiStageName}`,
      readTimeout: Duration.seconds(30),
    });

    const appOrigins = [
      "'self'",
      `https://cognito-idp.${region}.${urlSuffix}`,
      // Presigned part uploads to the raw bucket (virtual-hosted style).
      `https://*.s3.${region}.${urlSuffix}`,
    ];
    const securityHeaders: ResponseSecurityHeadersBehavior = {
      strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
      contentTypeOptions: { override: true },
      frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
      referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
      contentSecurityPolicy: { contentSecurityPolicy: contentSecurityPolicy(appOrigins), override: true },
    };
    const appHeaders = new ResponseHeadersPolicy(this, 'AppHeaders', {
      comment: 'vodstack: security headers of the web app and the API',
      securityHeadersBehavior: securityHeaders,
    });
    const mediaHeaders = new ResponseHeadersPolicy(this, 'MediaHeaders', {
      comment: 'vodstack: security headers and CORS of media (players fetch it from any page)',
      securityHeadersBehavior: securityHeaders,
      corsBehavior: {
        accessControlAllowCredentials: false,
        accessControlAllowOrigins: ['*'],
        accessControlAllowMethods: ['GET', 'HEAD'],
        accessControlAllowHeaders: ['Range'],
        accessControlExposeHeaders: ['Content-Length', 'Content-Range'],
        accessControlMaxAge: Duration.days(1),
        originOverride: true,
      },
    });

    const manifestCache = new CachePolicy(this, 'ManifestCache', {
      comment: 'vodstack: manifests and the storyboard index; the origin says max-age=60',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(60),
      maxTtl: Duration.minutes(5),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
      ...pathOnlyCacheKey(),
    });
    const segmentCache = new CachePolicy(this, 'SegmentCache', {
      comment: 'vodstack: segments and images; the origin marks them immutable for a year',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.days(1),
      maxTtl: Duration.days(365),
      ...pathOnlyCacheKey(),
    });

    const media = (cachePolicy: CachePolicy, compress: boolean): BehaviorOptions => ({
      origin: mediaOrigin,
      viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
      cachedMethods: CachedMethods.CACHE_GET_HEAD,
      cachePolicy,
      compress,
      responseHeadersPolicy: mediaHeaders,
      functionAssociations: [{ function: this.playbackAccess, eventType: FunctionEventType.VIEWER_REQUEST }],
    });
    const additionalBehaviors: Record<string, BehaviorOptions> = {
      [API_PATH]: {
        origin: apiOrigin,
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_ALL,
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        responseHeadersPolicy: appHeaders,
        compress: true,
      },
      ...Object.fromEntries(MediaPaths.manifests.map((pattern) => [pattern, media(manifestCache, true)])),
      [MediaPaths.rest]: media(segmentCache, false),
    };

    this.distribution = new Distribution(this, 'Resource', {
      comment: 'vodstack: web app, API and media',
      defaultBehavior: this.webAppBehavior(webOrigin, appHeaders),
      additionalBehaviors,
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: 'cloudfront/',
      webAclId: props.webAclArn,
      ...(props.domain
        ? {
            domainNames: [props.domain.domainName],
            certificate: props.domain.certificate,
            minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
            sslSupportMethod: SSLMethod.SNI,
          }
        : {}),
    });
    (this.distribution.node.defaultChild as CfnResource).addMetadata(Metadata.resource, ResourceRole.distribution);
    // The edge must find the signing key from its first request on.
    this.distribution.node.addDependency(this.playbackKeys.sync);

    this.deployWebApp(props);
    this.acknowledgeFindings(props);
  }

  /** Where the CDN answers: `https://` and the custom domain, or the `*.cloudfront.net` name. */
  public get url(): string {
    return `https://${this.domainName ?? this.distribution.distributionDomainName}`;
  }

  private webAppBehavior(origin: IOrigin, responseHeadersPolicy: ResponseHeadersPolicy): BehaviorOptions {
    return {
      origin,
      viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
      cachePolicy: CachePolicy.CACHING_OPTIMIZED,
      compress: true,
      responseHeadersPolicy,
      functionAssociations: [{ function: this.appRoutes, eventType: FunctionEventType.VIEWER_REQUEST }],
    };
  }

  /**
   * Uploads the build and `config.json` (region and Cognito ids, resolved at deploy time). Hashed
   * files under `assets/` are immutable and never pruned, so a page loaded before a deploy can
   * still fetch its chunks; the rest (`index.html`, `config.json`, …) must be revalidated, and
   * the deploy invalidates it at the edge. Deleting the stack removes every file, then the bucket.
   */
  private deployWebApp(props: DeliveryProps): void {
    // One log group for both deployments (they share one CDK-maintained function), encrypted like the others.
    const deployLogs = new LogGroup(this, 'WebAppDeployLogs', {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const dir = props.webAppDir ?? ensureWebBuild({ projectRoot: PROJECT_ROOT, distDir: path.join(PROJECT_ROOT, 'web', 'dist') });
    if (!existsSync(path.join(dir, 'index.html'))) throw new Error(`${this.node.path}: ${dir} is not a web app build (no index.html)`);
    const assetsDir = path.join(dir, 'assets');
    const assets = existsSync(assetsDir)
      ? new BucketDeployment(this, 'WebAppAssets', {
          sources: [Source.asset(assetsDir)],
          destinationBucket: this.webAppBucket,
          destinationKeyPrefix: 'assets/',
          cacheControl: [CacheControl.fromString('public, max-age=31536000, immutable')],
          prune: false,
          retainOnDelete: false,
          memoryLimit: 512,
          logGroup: deployLogs,
        })
      : undefined;
    const site = new BucketDeployment(this, 'WebAppFiles', {
      sources: [
        Source.asset(dir, { exclude: ['assets', 'assets/**'] }),
        Source.jsonData('config.json', {
          region: Stack.of(this).region,
          userPoolId: props.userPool.userPoolId,
          userPoolClientId: props.userPoolClient.userPoolClientId,
        }),
      ],
      destinationBucket: this.webAppBucket,
      exclude: ['assets/*'],
      cacheControl: [CacheControl.noCache()],
      retainOnDelete: false,
      memoryLimit: 512,
      logGroup: deployLogs,
      distribution: this.distribution,
      distributionPaths: ['/*'],
    });
    if (assets) site.node.addDependency(assets);
    this.acknowledgeDeploymentFindings();
  }

  /** The deployments share one CDK-maintained function, created at the stack's root. */
  private acknowledgeDeploymentFindings(): void {
    const handler = Stack.of(this).node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (!handler) throw new Error(`${this.node.path}: the BucketDeployment function was not found`);
    const reason = (what: string) => `BucketDeployment's CDK-maintained function, run by CloudFormation on deploy to copy the web app: ${what}`;
    Validations.of(handler).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: reason('AWSLambdaBasicExecutionRole only lets it write its own logs.'),
      },
      ...['s3:GetBucket*', 's3:GetObject*', 's3:List*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: reason(`${action} is what grantRead gives it on the CDK assets bucket (the zipped build) and grantReadWrite on the web app bucket.`),
      })),
      ...['s3:Abort*', 's3:DeleteObject*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: reason(`${action} on the web app bucket's objects: it replaces the previous build (sync with prune).`),
      })),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: reason('cloudfront:CreateInvalidation and GetInvalidation, to refresh index.html and config.json at the edge after a deploy.'),
      },
      {
        id: 'AwsSolutions-L1',
        reason: reason('its runtime (Python, with the AWS CLI layer) is chosen and upgraded by aws-cdk-lib.'),
      },
      ...['Serverless-LambdaDLQ', 'Serverless-LambdaTracing', 'Serverless-LambdaLatestVersion'].map((id) => ({
        id,
        reason: reason('CloudFormation waits on its answer and fails the deploy on an error; the Lambda configuration is not exposed by BucketDeployment.'),
      })),
    );
    acknowledgeResource(handler, 'AwsSolutions-IAM5', `${this.webAppBucket.bucketArn}/*`, reason('the build may hold any file name; this bucket holds only the build.'));
    const stack = Stack.of(this);
    if (stack.synthesizer instanceof DefaultStackSynthesizer) {
      // The bootstrap assets bucket, spelled as the synthesizer writes it into the policy.
      const qualifier = stack.synthesizer.bootstrapQualifier ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER;
      const assetsBucket = DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace('${Qualifier}', qualifier).replace(
        '${AWS::Region}',
        Token.isUnresolved(stack.region) ? '${AWS::Region}' : stack.region,
      );
      acknowledgeResource(
        handler,
        'AwsSolutions-IAM5',
        `arn:${stack.partition}:s3:::${assetsBucket}/*`,
        reason("it reads the build's zip from the CDK assets bucket, whose object keys are content hashes."),
      );
    }
  }

  private acknowledgeFindings(props: DeliveryProps): void {
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'The platform serves viewers worldwide by design; no country is excluded.',
    });
    if (!props.domain) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          'With the default *.cloudfront.net certificate CloudFront fixes the viewer security policy (TLSv1) and ignores a minimum; set context domainName and certificateArn to serve TLSv1.2_2021 at least.',
      });
    }
    // The media origin is an imported bucket on purpose (see above): its policy is written in the data stack.
    Annotations.of(this.distribution).acknowledgeWarning(
      '@aws-cdk/aws-cloudfront-origins:updateImportedBucketPolicyOac',
      "The media bucket's policy grants CloudFront read on videos/* in the data stack (MediaBuckets.media), for this account's distributions.",
    );
  }
}

/**
 * Viewer request on the web app: a path whose last segment has no file extension is an app route
 * (`/watch/abc`, `/`), answered with the app's `index.html`; files pass through.
 */

/** Cache keys made of the path alone. */
function pathOnlyCacheKey() {
  return {
    queryStringBehavior: CacheQueryStringBehavior.none(),
    headerBehavior: CacheHeaderBehavior.none(),
    cookieBehavior: CacheCookieBehavior.none(),
  };
}

/**
 * The app's CSP: its own origin for scripts, styles, fonts and API calls; `blob:` for media
 * (Media Source Extensions) and workers (hls.js); Cognito and S3 (presigned part uploads) for
 * `connect-src`. Inline styles are allowed (component libraries set them); inline scripts are not.
 */
function contentSecurityPolicy(connectSources: readonly string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "worker-src 'self' blob:",
    "font-src 'self'",
    `connect-src ${connectSources.join(' ')}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
