/**
 * Names the synthesized templates carry so that local mode can find things in them without a
 * second, hand-written list. Each key is CloudFormation `Metadata` on the resource itself.
 */
export const Metadata = {
  /** On the `AWS::Lambda::Function` of each API route: the route's `id` from `#contracts/routes`. */
  route: 'vodstack:route',
  /** On every `AWS::Lambda::Function` built by `AppFunction`: its module under `lambdas/handlers/`. */
  handler: 'vodstack:handler',
  /** On stateful resources local mode provisions: one of `ResourceRole`. */
  resource: 'vodstack:resource',
  /**
   * On the transcode `AWS::StepFunctions::StateMachine`: a {@link WorkflowMetadata} object. Local
   * mode finds the state machine by it and runs its `DefinitionString`.
   */
  workflow: 'vodstack:workflow',
  /**
   * On the `AWS::Lambda::Function` behind each Lambda task of the workflow: the state name (from
   * `StateNames`) whose task invokes it. Its module is under `Metadata.handler`.
   */
  workflowTask: 'vodstack:workflow-task',
} as const;

/** What the state machine carries under `Metadata.workflow`. */
export interface WorkflowMetadata {
  /** Which transcoder the definition was built for (`ffmpeg` runs locally; `mediaconvert` needs AWS). */
  readonly transcoder: 'ffmpeg' | 'mediaconvert';
}

/** What a stateful resource is for, as written under `Metadata.resource`. */
export const ResourceRole = {
  table: 'VideoTable',
  rawBucket: 'RawBucket',
  mediaBucket: 'MediaBucket',
  accessLogsBucket: 'AccessLogsBucket',
  /** CloudFront standard logs. */
  cdnLogsBucket: 'CdnLogsBucket',
  /** The web app's build, served by the CDN. */
  webAppBucket: 'WebAppBucket',
  /** The Secrets Manager secret holding the playback signing key (`{"kid","key"}`). */
  playbackKey: 'PlaybackKey',
  /** The CloudFront KeyValueStore holding the edge's copy of the playback signing key. */
  playbackKeyStore: 'PlaybackKeyStore',
  /** The CloudFront distribution (web app, `/api/*`, `/v/*`). */
  distribution: 'Distribution',
  userPool: 'UserPool',
  userPoolClient: 'UserPoolClient',
  restApi: 'RestApi',
} as const;
export type ResourceRole = (typeof ResourceRole)[keyof typeof ResourceRole];

/** Stack names (also their construct ids); fixed, because stateful stacks must never be renamed. */
export const StackNames = {
  data: 'Vodstack-Data',
  auth: 'Vodstack-Auth',
  api: 'Vodstack-Api',
  pipeline: 'Vodstack-Pipeline',
  /** The dashboard, the paging alarms and their topic. */
  observability: 'Vodstack-Observability',
  /** Only when the app is outside us-east-1: the CloudFront web ACL, which must be created there. */
  edge: 'Vodstack-Edge',
} as const;
