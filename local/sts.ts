import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { allows, nameRoles, policyOfRole, roleByArn, trustOfRole, type AccessRequest, type PolicyStatement } from './iam-policy.ts';
import { listenOnLoopback } from './net.ts';
import { TemplateResolver, type PhysicalIds, type SynthesizedStack } from './template.ts';

/**
 * An STS stand-in for `AssumeRole` on the roles the templates declare, over the service's awsQuery
 * protocol (form-encoded POST, XML answers, errors as STS sends them), so a function that scopes
 * its own credentials (a session tagged `videoId=…`) runs locally with the real SDK client.
 *
 * The role's trust policy is evaluated as far as it can be locally: a statement trusting an `AWS`
 * principal must allow `sts:AssumeRole` (and `sts:TagSession` when tags are given) under its
 * conditions on the request (`aws:RequestTag/<key>`, `aws:TagKeys`, `sts:RoleSessionName`), so a
 * caller that forgets or adds a tag is refused here as on AWS. Which principal calls is not known
 * (callers are not authenticated: every local caller holds the one local key).
 *
 * Sessions live in memory ({@link LocalSessions}); the local S3 authenticates their keys and
 * authorizes each request with the role's policy (./iam-policy.ts) under the session's tags.
 * Session policies (`Policy`, `PolicyArns`) are refused rather than ignored, since ignoring them
 * would grant more than AWS does.
 */
export interface LocalSession {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiresAt: Date;
  readonly roleArn: string;
  /** `AROA…:<session name>`, as `aws:userid` and S3 events name the caller. */
  readonly assumedRoleId: string;
  /** Session tags, as given to `AssumeRole`. */
  readonly tags: Readonly<Record<string, string>>;
  /** The role's policy, evaluated with `aws:PrincipalTag/<key>` from the session's tags. */
  allows(request: AccessRequest): boolean;
}

/** Sessions issued, by access key id (expired ones for an hour: S3 answers `ExpiredToken`). */
export interface LocalSessions {
  find(accessKeyId: string): LocalSession | undefined;
}

export interface LocalSts {
  readonly endpoint: string;
  readonly sessions: LocalSessions;
  stop(): Promise<void>;
}

const ACCOUNT = '000000000000';
const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const SESSION_NAME = /^[\w+=,.@-]*$/;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_TAGS = 50;
/** How long past its expiry a session is still known (answered `ExpiredToken` rather than unknown). */
const FORGET_AFTER_MS = 3600_000;
/** A role's `MaxSessionDuration` when the template does not set one. */
const DEFAULT_MAX_SESSION_SECONDS = 3600;

/** A refusal as STS answers it: `<ErrorResponse><Error><Type>Sender</Type>…`. */
class StsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Names the templates' roles (their ARNs are what `RoleArn` must be), then serves `AssumeRole`. */
export async function startLocalSts(options: { stacks: SynthesizedStack[]; physical: PhysicalIds; port?: number }): Promise<LocalSts> {
  nameRoles(options.stacks, options.physical);
  const resolver = new TemplateResolver(options.stacks, options.physical);
  const sessions = new Map<string, LocalSession>();
  // A role's trust and policy, resolved once: every session of the role shares them (a platform
  // under load issues thousands of sessions, one per ffmpeg task).
  const roles = new Map<string, { role: ReturnType<typeof roleByArn>; trust: PolicyStatement[]; statements: PolicyStatement[] }>();
  const roleOf = (roleArn: string) => {
    let known = roles.get(roleArn);
    if (!known) {
      const role = roleByArn(options.stacks, resolver, roleArn);
      known = role
        ? { role, trust: trustOfRole(options.stacks, resolver, roleArn)!, statements: policyOfRole(options.stacks, resolver, roleArn)! }
        : { role, trust: [], statements: [] };
      // Unknown ARNs are not kept: a caller could otherwise grow the map without bound.
      if (role) roles.set(roleArn, known);
    }
    return known;
  };

  /** The `AssumeRoleResponse` document, or the StsError STS would answer. */
  function assumeRole(params: URLSearchParams, requestId: string): string {
    const roleArn = params.get('RoleArn');
    const sessionName = params.get('RoleSessionName');
    const duration = params.get('DurationSeconds');
    const tags = tagsOf(params);
    const problems = [
      ...(roleArn === null ? [`Value null at 'roleArn' failed to satisfy constraint: Member must not be null`] : []),
      ...constrain('roleSessionName', sessionName, { min: 2, max: 64, pattern: SESSION_NAME, patternText: '[\\w+=,.@-]*' }),
      ...durationProblems(duration),
      ...tags.flatMap((tag, i) => [
        ...constrain(`tags.${i + 1}.member.key`, tag.key, { min: 1, max: 128, pattern: TAG_TEXT, patternText: '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+' }),
        ...constrain(`tags.${i + 1}.member.value`, tag.value, { min: 0, max: 256, pattern: TAG_TEXT, patternText: '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*' }),
      ]),
      ...(tags.length > MAX_TAGS ? [`Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to ${MAX_TAGS}`] : []),
    ];
    if (problems.length > 0) {
      throw new StsError('ValidationError', `${problems.length} validation error${problems.length > 1 ? 's' : ''} detected: ${problems.join('; ')}`, 400);
    }
    if ([...params.keys()].some((name) => name === 'Policy' || name.startsWith('PolicyArns.'))) {
      throw new StsError('ValidationError', 'The local STS does not apply session policies (Policy, PolicyArns): scope the role or the session tags instead.', 400);
    }
    // Validated above: every tag has a key and a value.
    const sessionTags = tags as { key: string; value: string }[];
    const keys = sessionTags.map((t) => t.key.toLowerCase());
    if (new Set(keys).size !== keys.length) {
      throw new StsError('ValidationError', 'Duplicate tag keys found. Please note that Tag keys are case insensitive.', 400);
    }
    const { role, trust, statements } = roleOf(roleArn!);
    const context = {
      ...Object.fromEntries(sessionTags.map((t) => [`aws:RequestTag/${t.key}`, t.value])),
      ...(sessionTags.length > 0 ? { 'aws:TagKeys': sessionTags.map((t) => t.key) } : {}),
      'sts:RoleSessionName': sessionName!,
    };
    const actions = ['sts:AssumeRole', ...(sessionTags.length > 0 ? ['sts:TagSession'] : [])];
    const refused = actions.find((action) => !allows(trust, { action, resource: roleArn!, context }));
    if (!role || refused) {
      throw new StsError('AccessDenied', `User: arn:aws:iam::${ACCOUNT}:root is not authorized to perform: ${refused} on resource: ${roleArn}`, 403);
    }
    const maxSeconds = Number(role.resource.Properties?.['MaxSessionDuration'] ?? DEFAULT_MAX_SESSION_SECONDS);
    const seconds = duration === null ? DEFAULT_MAX_SESSION_SECONDS : Number(duration);
    if (seconds > maxSeconds) {
      throw new StsError('ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.', 400);
    }

    const roleName = resolver.resolve(role.stack, { Ref: role.logicalId });
    const assumedRoleId = `${roleIdOf(roleArn!)}:${sessionName}`;
    const tagValues = Object.fromEntries(sessionTags.map((t) => [t.key, t.value]));
    const variables = {
      ...Object.fromEntries(sessionTags.map((t) => [`aws:PrincipalTag/${t.key}`, t.value])),
      'aws:PrincipalArn': roleArn!,
      'aws:userid': assumedRoleId,
    };
    const session: LocalSession = {
      accessKeyId: `ASIA${randomBase32(16)}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      // STS answers whole seconds.
      expiresAt: new Date(Math.floor(Date.now() / 1000) * 1000 + seconds * 1000),
      roleArn: roleArn!,
      assumedRoleId,
      tags: tagValues,
      allows: (request) => allows(statements, request, variables),
    };
    // Forgotten an hour after they expire (S3 then answers InvalidAccessKeyId), so a platform that
    // runs for days does not keep every session it ever issued.
    for (const [key, old] of sessions) if (old.expiresAt.getTime() < Date.now() - FORGET_AFTER_MS) sessions.delete(key);
    sessions.set(session.accessKeyId, session);
    return (
      `<AssumeRoleResponse xmlns="${NS}"><AssumeRoleResult>` +
      `<AssumedRoleUser><AssumedRoleId>${escapeXml(assumedRoleId)}</AssumedRoleId>` +
      `<Arn>${escapeXml(`arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${sessionName}`)}</Arn></AssumedRoleUser>` +
      `<Credentials><AccessKeyId>${session.accessKeyId}</AccessKeyId><SecretAccessKey>${session.secretAccessKey}</SecretAccessKey>` +
      `<SessionToken>${session.sessionToken}</SessionToken><Expiration>${session.expiresAt.toISOString().replace(/\.\d+Z$/, 'Z')}</Expiration></Credentials>` +
      `</AssumeRoleResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></AssumeRoleResponse>`
    );
  }

  const server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const requestId = randomUUID();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    // awsQuery takes its parameters from the query string or a form-encoded body.
    const params = new URLSearchParams(new URL(req.url ?? '/', 'http://sts').search);
    for (const [name, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) params.append(name, value);
    try {
      const action = params.get('Action');
      if (action !== 'AssumeRole') throw new StsError('InvalidAction', `Could not find operation ${action} for version ${params.get('Version') ?? 'NO_VERSION_SPECIFIED'}`, 400);
      reply(res, 200, requestId, assumeRole(params, requestId));
    } catch (error) {
      const failure = error instanceof StsError ? error : new StsError('InternalFailure', 'The request processing has failed because of an unknown error.', 500);
      if (!(error instanceof StsError)) console.error('[local-sts]', error);
      const type = failure.status < 500 ? 'Sender' : 'Receiver';
      reply(
        res,
        failure.status,
        requestId,
        `<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${failure.code}</Code><Message>${escapeXml(failure.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    }
  }

  const { endpoint, stop } = await listenOnLoopback(server, options.port);
  return {
    endpoint,
    sessions: { find: (accessKeyId) => sessions.get(accessKeyId) },
    stop,
  };
}

function reply(res: ServerResponse, status: number, requestId: string, body: string) {
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }).end(body);
}

/** `Tags.member.N.Key` / `Tags.member.N.Value`, in N order. */
function tagsOf(params: URLSearchParams): { key: string | null; value: string | null }[] {
  const indexes = new Set<number>();
  for (const name of params.keys()) {
    const m = /^Tags\.member\.(\d+)\.(Key|Value)$/.exec(name);
    if (m) indexes.add(Number(m[1]));
  }
  return [...indexes]
    .sort((a, b) => a - b)
    .map((n) => ({ key: params.get(`Tags.member.${n}.Key`), value: params.get(`Tags.member.${n}.Value`) }));
}

/** `DurationSeconds` is 900..43200 in STS's model; the role's `MaxSessionDuration` is checked after. */
function durationProblems(duration: string | null): string[] {
  if (duration === null) return [];
  const at = `Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value`;
  if (!/^\d+$/.test(duration) || Number(duration) < 900) return [`${at} greater than or equal to 900`];
  return Number(duration) > 43_200 ? [`${at} less than or equal to 43200`] : [];
}

/** STS's validation messages for one string member. */
function constrain(
  member: string,
  value: string | null,
  rule: { min: number; max: number; pattern: RegExp; patternText: string },
): string[] {
  if (value === null) return [`Value null at '${member}' failed to satisfy constraint: Member must not be null`];
  const length = [...value].length;
  return [
    ...(length < rule.min ? [`Value '${value}' at '${member}' failed to satisfy constraint: Member must have length greater than or equal to ${rule.min}`] : []),
    ...(length > rule.max ? [`Value '${value}' at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${rule.max}`] : []),
    ...(!rule.pattern.test(value) ? [`Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${rule.patternText}`] : []),
  ];
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function randomBase32(length: number): string {
  return [...randomBytes(length)].map((b) => BASE32[b % 32]).join('');
}

/** A role's unique id (`AROA…`), stable for its ARN as IAM's is for the role. */
function roleIdOf(roleArn: string): string {
  return `AROA${[...createHash('sha256').update(roleArn).digest().subarray(0, 17)].map((b) => BASE32[b % 32]).join('')}`;
}

const escapeXml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
