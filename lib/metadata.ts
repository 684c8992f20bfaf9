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
} as const;

/** What a stateful resource is for, as written under `Metadata.resource`. */
export const ResourceRole = {
  table: 'VideoTable',
  rawBucket: 'RawBucket',
  mediaBucket: 'MediaBucket',
  accessLogsBucket: 'AccessLogsBucket',
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
} as const;
