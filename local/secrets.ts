import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { physicalKey, resourcesOfType, type PhysicalIds, type SynthesizedStack } from './template.ts';
import { listenOnLoopback } from './net.ts';

/**
 * A Secrets Manager stand-in: the secrets the templates declare, generated once as their
 * `GenerateSecretString` says and kept in one JSON file, served over the service's JSON protocol
 * (`GetSecretValue`, `DescribeSecret`) so functions read them with the real SDK client.
 */
export interface LocalSecrets {
  readonly endpoint: string;
  /** A secret's string by ARN or name (for the local CDN, which plays the KeyValueStore). */
  value(secretId: string): string | undefined;
  /** Every secret's string. */
  values(): string[];
  stop(): Promise<void>;
}

interface Stored {
  readonly arn: string;
  readonly name: string;
  readonly value: string;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export async function startLocalSecrets(options: {
  stacks: SynthesizedStack[];
  physical: PhysicalIds;
  file: string;
  port?: number;
}): Promise<LocalSecrets> {
  const saved: Record<string, Stored> = existsSync(options.file) ? JSON.parse(readFileSync(options.file, 'utf8')) : {};
  const secrets = new Map<string, Stored>();
  for (const { stack, logicalId, resource } of resourcesOfType(options.stacks, 'AWS::SecretsManager::Secret')) {
    const key = physicalKey(stack, logicalId);
    const name = `${stack}-${logicalId}`;
    const arn = `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}`;
    const stored = saved[key] ?? { arn, name, value: generate(resource.Properties ?? {}) };
    saved[key] = stored;
    secrets.set(arn, stored).set(name, stored);
    options.physical.set(key, arn);
  }
  mkdirSync(dirname(options.file), { recursive: true });
  writeFileSync(options.file, JSON.stringify(saved, null, 2), { mode: 0o600 });

  const server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    let input: { SecretId?: string } = {};
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      return reply(res, 400, { __type: 'InvalidRequestException', message: 'body is not JSON' });
    }
    const secret = input.SecretId ? secrets.get(input.SecretId) : undefined;
    if (!secret) return reply(res, 400, { __type: 'ResourceNotFoundException', message: `Secrets Manager can't find the specified secret.` });
    if (target === 'secretsmanager.GetSecretValue') {
      return reply(res, 200, { ARN: secret.arn, Name: secret.name, SecretString: secret.value, VersionId: 'local', VersionStages: ['AWSCURRENT'] });
    }
    if (target === 'secretsmanager.DescribeSecret') return reply(res, 200, { ARN: secret.arn, Name: secret.name });
    return reply(res, 400, { __type: 'UnknownOperationException', message: `local Secrets Manager does not do ${target}` });
  }

  const { endpoint, stop } = await listenOnLoopback(server, options.port);
  return {
    endpoint,
    value: (id) => secrets.get(id)?.value,
    values: () => [...new Set([...secrets.values()].map((s) => s.value))],
    stop,
  };
}

function reply(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
}

/** What CloudFormation would generate for a secret (only the options our templates use). */
function generate(props: Record<string, unknown>): string {
  const spec = props['GenerateSecretString'] as
    | { SecretStringTemplate?: string; GenerateStringKey?: string; PasswordLength?: number; ExcludePunctuation?: boolean; ExcludeCharacters?: string }
    | undefined;
  if (typeof props['SecretString'] === 'string') return props['SecretString'];
  if (!spec) return randomBytes(32).toString('base64url');
  const excluded = new Set(spec.ExcludeCharacters ?? '');
  const alphabet = [...(spec.ExcludePunctuation ? ALNUM : `${ALNUM}!#$%&()*+,-./:;<=>?@[]^_{|}~`)].filter((c) => !excluded.has(c));
  const random = Array.from({ length: spec.PasswordLength ?? 32 }, () => alphabet[randomInt(alphabet.length)]).join('');
  if (!spec.SecretStringTemplate || !spec.GenerateStringKey) return random;
  return JSON.stringify({ ...JSON.parse(spec.SecretStringTemplate), [spec.GenerateStringKey]: random });
}
