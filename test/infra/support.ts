import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type BuildAppOptions, type VodstackStacks } from '#lib/app';
import { Metadata } from '#lib/metadata';

/** A synthesized app: its stacks and their templates. */
export interface Synthesized {
  readonly app: App;
  readonly stacks: VodstackStacks;
  readonly data: Template;
  readonly auth: Template;
  readonly api: Template;
}

/**
 * A stand-in for `web/dist` (an `index.html` and one hashed asset): the templates do not depend on
 * the app's contents, and the suite then needs no web build (`lib/web-build.ts` has its own test).
 */
export const WEB_APP_FIXTURE = fileURLToPath(new URL('./fixtures/web-dist', import.meta.url));

/**
 * Builds the real app as `bin/app.ts` does (cdk-nag included, so a finding fails here), but with
 * bundling skipped (asset bundling of every function would make the suite slow) and the web app
 * taken from {@link WEB_APP_FIXTURE} unless `opts.webAppDir` says otherwise.
 */
export function synthesize(context: Record<string, unknown> = {}, opts: BuildAppOptions = {}): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stacks = buildApp(app, { env: { region: 'eu-west-1' }, webAppDir: WEB_APP_FIXTURE, ...opts });
  return {
    app,
    stacks,
    data: Template.fromStack(stacks.data),
    auth: Template.fromStack(stacks.auth),
    api: Template.fromStack(stacks.api),
  };
}

/** A CloudFormation resource as it appears in a template. */
export interface CfnResourceJson {
  readonly Type: string;
   
  readonly Properties?: Record<string, any>;
  readonly Metadata?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly DependsOn?: string | string[];
  readonly UpdateReplacePolicy?: string;
}

export function resourcesOfType(template: Template, type: string): Record<string, CfnResourceJson> {
  return template.findResources(type) as Record<string, CfnResourceJson>;
}

/** The one resource of a type, failing if there are none or several. */
export function onlyResource(template: Template, type: string): [string, CfnResourceJson] {
  const entries = Object.entries(resourcesOfType(template, type));
  if (entries.length !== 1) throw new Error(`expected exactly one ${type}, found ${entries.length}`);
  return entries[0]!;
}

/** The Lambda function of each route id, found by its `vodstack:route` metadata. */
export function routeFunctions(api: Template): Map<string, [string, CfnResourceJson]> {
  const byRoute = new Map<string, [string, CfnResourceJson]>();
  for (const [id, fn] of Object.entries(resourcesOfType(api, 'AWS::Lambda::Function'))) {
    const route = fn.Metadata?.[Metadata.route];
    if (typeof route === 'string') byRoute.set(route, [id, fn]);
  }
  return byRoute;
}

/** An IAM policy statement as synthesized. */
export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: unknown;
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** Every statement of every identity policy (`AWS::IAM::Policy`, inline role policies, managed policies). */
export function identityStatements(template: Template): Statement[] {
  const statements: Statement[] = [];
  for (const policy of Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))) {
    statements.push(...policy.Properties!.PolicyDocument.Statement);
  }
  for (const policy of Object.values(resourcesOfType(template, 'AWS::IAM::ManagedPolicy'))) {
    statements.push(...policy.Properties!.PolicyDocument.Statement);
  }
  for (const role of Object.values(resourcesOfType(template, 'AWS::IAM::Role'))) {
    for (const inline of role.Properties?.Policies ?? []) statements.push(...inline.PolicyDocument.Statement);
  }
  return statements;
}

/** The Allow statements attached to the role of the given function. */
export function functionStatements(api: Template, fn: CfnResourceJson): Statement[] {
  const roleId = fn.Properties!.Role['Fn::GetAtt'][0] as string;
  const statements: Statement[] = [];
  for (const policy of Object.values(resourcesOfType(api, 'AWS::IAM::Policy'))) {
    const roles = policy.Properties!.Roles as { Ref: string }[];
    if (roles.some((r) => r.Ref === roleId)) statements.push(...policy.Properties!.PolicyDocument.Statement);
  }
  return statements.filter((s) => s.Effect === 'Allow');
}

/** Full paths of the REST API's resources, by logical id (the root is `/`). */
export function resourcePaths(api: Template): Map<string, string> {
  const resources = resourcesOfType(api, 'AWS::ApiGateway::Resource');
  const paths = new Map<string, string>();
  const pathOf = (id: string): string => {
    const known = paths.get(id);
    if (known) return known;
    const props = resources[id]!.Properties!;
    const parent = props.ParentId as { Ref?: string; 'Fn::GetAtt'?: string[] };
    const parentPath = parent.Ref ? pathOf(parent.Ref) : '';
    const path = `${parentPath}/${props.PathPart as string}`;
    paths.set(id, path);
    return path;
  };
  for (const id of Object.keys(resources)) pathOf(id);
  return paths;
}
