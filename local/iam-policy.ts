import { physicalKey, resourcesOfType, type PhysicalIds, type SynthesizedStack, type TemplateResolver } from './template.ts';

/**
 * IAM policy evaluation for the subset of the policy language the templates emit, so local
 * stand-ins can enforce what a role (or a session of it, see ./sts.ts) may do, as AWS would.
 *
 * - Explicit Deny wins; otherwise an Allow statement must match; otherwise denied.
 * - `Action`/`NotAction`: `*` and `?` wildcards, case-insensitive. `Resource`: wildcards,
 *   case-sensitive. `NotResource` and `Principal` are not used by identity policies we emit: a
 *   statement with `NotResource` is undecidable (below).
 * - Policy variables (`${aws:PrincipalTag/videoId}`, with an optional `, 'default'`, and the
 *   `${*}` `${?}` `${$}` escapes) are substituted in resources and condition values; the value is
 *   matched literally (a `*` in a tag is not a wildcard). A missing variable makes that value match
 *   nothing.
 * - Conditions: `StringEquals`, `StringNotEquals`, `StringLike`, `Null`,
 *   `ForAllValues:StringEquals`, `ForAnyValue:StringEquals`; keys case-insensitive.
 *
 * What cannot be decided locally (another operator, a missing variable under a negated operator)
 * fails closed: such an Allow grants nothing and such a Deny denies.
 */

/** One statement of a policy document, as IAM's JSON has it. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** One request to authorize: the action, the resource's ARN, and the request's condition keys. */
export interface AccessRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
}

/** Values of policy variables and principal condition keys, e.g. `aws:PrincipalTag/videoId`. */
export type PolicyVariables = Readonly<Record<string, string>>;

/** Whether the statements allow the request (explicit Deny wins, default deny). */
export function allows(statements: readonly PolicyStatement[], request: AccessRequest, variables: PolicyVariables = {}): boolean {
  const lookup = keyLookup(request.context ?? {}, variables);
  let allowed = false;
  for (const statement of statements) {
    const applies = statementApplies(statement, request, lookup);
    if (statement.Effect === 'Deny' && applies !== false) return false;
    if (statement.Effect === 'Allow' && applies === true) allowed = true;
  }
  return allowed;
}

/** Undecidable: an Allow does not grant, a Deny denies. */
type Decision = boolean | 'undecidable';

function statementApplies(statement: PolicyStatement, request: AccessRequest, lookup: KeyLookup): Decision {
  const actionMatches =
    statement.Action !== undefined
      ? list(statement.Action).some((pattern) => matches(pattern, request.action, lookup, { ignoreCase: true, variables: false }))
      : statement.NotAction !== undefined && !list(statement.NotAction).some((pattern) => matches(pattern, request.action, lookup, { ignoreCase: true, variables: false }));
  if (!actionMatches) return false;
  if (statement.NotResource !== undefined) return 'undecidable';
  if (!list(statement.Resource ?? []).some((pattern) => matches(pattern, request.resource, lookup, { ignoreCase: false, variables: true }))) {
    return false;
  }
  let decision: Decision = true;
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      const held = conditionHolds(operator, lookup(key), list(expected as string | readonly string[]).map(String), lookup);
      if (held === false) return false;
      if (held === 'undecidable') decision = 'undecidable';
    }
  }
  return decision;
}

function conditionHolds(operator: string, actual: readonly string[] | undefined, expected: readonly string[], lookup: KeyLookup): Decision {
  const exact = (pattern: string, value: string) => substitute(pattern, lookup) === value;
  const like = (pattern: string, value: string) => matches(pattern, value, lookup, { ignoreCase: false, variables: true });
  switch (operator) {
    case 'StringEquals':
      return actual !== undefined && actual.length === 1 && expected.some((e) => exact(e, actual[0]!));
    case 'StringLike':
      return actual !== undefined && actual.length === 1 && expected.some((e) => like(e, actual[0]!));
    case 'StringNotEquals':
      // A value whose variable is missing cannot be compared: negating "no match" would grant.
      if (expected.some((e) => substitute(e, lookup) === undefined)) return 'undecidable';
      return actual === undefined || (actual.length === 1 && !expected.some((e) => exact(e, actual[0]!)));
    case 'Null':
      return expected.some((e) => (e.toLowerCase() === 'true') === (actual === undefined || actual.length === 0));
    case 'ForAllValues:StringEquals':
      return (actual ?? []).every((value) => expected.some((e) => exact(e, value)));
    case 'ForAnyValue:StringEquals':
      return (actual ?? []).some((value) => expected.some((e) => exact(e, value)));
    default:
      return 'undecidable';
  }
}

type KeyLookup = (key: string) => readonly string[] | undefined;

/** Condition keys and variables are case-insensitive; the principal's values win over the request's. */
function keyLookup(context: Readonly<Record<string, string | readonly string[]>>, variables: PolicyVariables): KeyLookup {
  const keys = new Map<string, readonly string[]>();
  for (const [name, value] of Object.entries(context)) keys.set(name.toLowerCase(), list(value));
  for (const [name, value] of Object.entries(variables)) keys.set(name.toLowerCase(), [value]);
  return (key) => keys.get(key.toLowerCase());
}

const VARIABLE = /\$\{([^}]*)\}/g;

/** A variable's value: `${*}`, `${?}`, `${$}` are the characters themselves; undefined when missing. */
function variableValue(body: string, lookup: KeyLookup): string | undefined {
  if (body === '*' || body === '?' || body === '$') return body;
  const withDefault = /^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$/.exec(body);
  const values = lookup(withDefault ? withDefault[1]! : body.trim());
  if (values?.length === 1) return values[0];
  return withDefault?.[2];
}

/** The value with its variables filled in, undefined when one is missing. */
function substitute(pattern: string, lookup: KeyLookup): string | undefined {
  let missing = false;
  const value = pattern.replace(VARIABLE, (_, body: string) => {
    const filled = variableValue(body, lookup);
    if (filled === undefined) missing = true;
    return filled ?? '';
  });
  return missing ? undefined : value;
}

/** `*` and `?` of the pattern are wildcards; variable values match literally. */
function matches(pattern: string, value: string, lookup: KeyLookup, options: { ignoreCase: boolean; variables: boolean }): boolean {
  let source = '';
  let last = 0;
  const wildcards = (text: string) => text.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  if (options.variables) {
    for (const m of pattern.matchAll(VARIABLE)) {
      const filled = variableValue(m[1]!, lookup);
      if (filled === undefined) return false;
      source += wildcards(pattern.slice(last, m.index)) + escapeRegExp(filled);
      last = m.index + m[0].length;
    }
  }
  source += wildcards(pattern.slice(last));
  return new RegExp(`^${source}$`, options.ignoreCase ? 'is' : 's').test(value);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function list<T>(value: T | readonly T[]): readonly T[] {
  return Array.isArray(value) ? value : [value as T];
}

// ---------------------------------------------------------------------------------------------
// Roles of the templates

/**
 * Names every IAM role of the templates: its `RoleName`, else `<stack>-<logicalId>` as
 * CloudFormation names it (without its random suffix). The stack is part of the name because
 * logical ids repeat across stacks (each stack's `DeploymentsRole`) and role names are per account;
 * a name past IAM's 64 characters keeps its end, where CDK's hash of the construct path is.
 */
export function nameRoles(stacks: SynthesizedStack[], physical: PhysicalIds): void {
  for (const { stack, logicalId, resource } of resourcesOfType(stacks, 'AWS::IAM::Role')) {
    const given = resource.Properties?.['RoleName'];
    const generated = `${stack}-${logicalId}`;
    const name = typeof given === 'string' ? given : generated.length <= 64 ? generated : `${generated.slice(0, 55)}-${generated.slice(-8)}`;
    physical.set(physicalKey(stack, logicalId), name);
  }
}

/** The role of the templates with this ARN (roles must be named, see {@link nameRoles}). */
export function roleByArn(stacks: SynthesizedStack[], resolver: TemplateResolver, roleArn: string) {
  return resourcesOfType(stacks, 'AWS::IAM::Role').find(
    ({ stack, logicalId }) => resolver.resolve(stack, { 'Fn::GetAtt': [logicalId, 'Arn'] }) === roleArn,
  );
}

/**
 * The statements of a role's trust policy that a caller holding credentials can meet: those with
 * an `AWS` principal (local callers all hold the one local key, so which principal is not known;
 * a role only a service may assume is not assumable). They apply to any resource; their
 * conditions (`aws:RequestTag/…`, `aws:TagKeys`) are what is checked. Undefined when no role of
 * the templates has this ARN.
 */
export function trustOfRole(stacks: SynthesizedStack[], resolver: TemplateResolver, roleArn: string): PolicyStatement[] | undefined {
  const role = roleByArn(stacks, resolver, roleArn);
  if (!role) return undefined;
  const document = role.resource.Properties?.['AssumeRolePolicyDocument'] as { Statement?: unknown } | undefined;
  return list(document?.Statement ?? [])
    .map((s) => s as CfnStatement & { Principal?: unknown })
    .filter((s) => typeof s.Principal === 'object' && s.Principal !== null && 'AWS' in s.Principal)
    .map(({ Principal: _principal, ...s }) => resolveStatement(resolver, role.stack, { ...s, Resource: '*' }));
}

/**
 * Every statement that applies to a role: its inline `Policies`, and each `AWS::IAM::Policy` or
 * `AWS::IAM::ManagedPolicy` whose `Roles` names it. AWS managed policies (`ManagedPolicyArns`) are
 * not known locally and grant nothing. Resources and condition values are resolved; one that
 * cannot be resolved locally (a resource local mode does not run, such as a KMS key of another
 * service) names nothing a local request can reach, so it is dropped, never widened.
 * Undefined when no role of the templates has this ARN.
 */
export function policyOfRole(stacks: SynthesizedStack[], resolver: TemplateResolver, roleArn: string): PolicyStatement[] | undefined {
  const role = roleByArn(stacks, resolver, roleArn);
  if (!role) return undefined;
  const roleName = resolver.resolve(role.stack, { Ref: role.logicalId });
  const documents: { stack: string; document: unknown }[] = [];
  for (const policy of (role.resource.Properties?.['Policies'] as { PolicyDocument?: unknown }[] | undefined) ?? []) {
    documents.push({ stack: role.stack, document: policy.PolicyDocument });
  }
  const attached = [...resourcesOfType(stacks, 'AWS::IAM::Policy'), ...resourcesOfType(stacks, 'AWS::IAM::ManagedPolicy')];
  for (const { stack, resource } of attached) {
    const roles = (resource.Properties?.['Roles'] as unknown[] | undefined) ?? [];
    if (roles.some((r) => tryResolve(resolver, stack, r) === roleName)) {
      documents.push({ stack, document: resource.Properties?.['PolicyDocument'] });
    }
  }
  return documents.flatMap(({ stack, document }) =>
    list((document as { Statement?: unknown } | undefined)?.Statement ?? []).map((s) => resolveStatement(resolver, stack, s as CfnStatement)),
  );
}

type CfnStatement = Omit<PolicyStatement, 'Resource' | 'NotResource' | 'Condition'> & {
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
};

function resolveStatement(resolver: TemplateResolver, stack: string, statement: CfnStatement): PolicyStatement {
  const resolveAll = (values: unknown) =>
    list(values).flatMap((v) => {
      const resolved = tryResolve(resolver, stack, v);
      return resolved === undefined ? [] : [resolved];
    });
  const { Resource, NotResource, Condition, ...rest } = statement;
  return {
    ...rest,
    ...(Resource !== undefined ? { Resource: resolveAll(Resource) } : {}),
    ...(NotResource !== undefined ? { NotResource: resolveAll(NotResource) } : {}),
    ...(Condition !== undefined
      ? {
          Condition: Object.fromEntries(
            Object.entries(Condition).map(([operator, keys]) => [
              operator,
              Object.fromEntries(Object.entries(keys).map(([key, values]) => [key, resolveAll(values)])),
            ]),
          ),
        }
      : {}),
  };
}

function tryResolve(resolver: TemplateResolver, stack: string, value: unknown): string | undefined {
  try {
    return resolver.resolve(stack, value);
  } catch {
    return undefined;
  }
}
