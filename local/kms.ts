import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { listenOnLoopback } from './net.ts';
import { physicalKey, resourcesOfType, TemplateResolver, type PhysicalIds, type SynthesizedStack } from './template.ts';

/**
 * A KMS stand-in for the symmetric keys the templates declare: `Encrypt` and `Decrypt` over the
 * service's JSON protocol (`TrentService.*`), so a function that seals data under an encryption
 * context (per-video credentials handed from one task to another) runs locally with the real SDK
 * client and fails where KMS would: another context, another key, a changed byte.
 *
 * Each key gets 32 random bytes, kept in one JSON file (mode 0600) so what was encrypted before a
 * restart still decrypts. Ciphertext is AES-256-GCM with the canonical JSON of the encryption
 * context as additional data; the blob carries the key id, IV and tag (its layout is ours, as
 * KMS's is opaque). Not like AWS: callers are not authenticated, key policies and grants are not
 * evaluated (every local caller holds the one local key), no data keys, no key states.
 */
export interface LocalKms {
  readonly endpoint: string;
  stop(): Promise<void>;
}

interface StoredKey {
  readonly keyId: string;
  /** Base64 of the 32-byte AES key. */
  readonly material: string;
}

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const BLOB_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_PLAINTEXT_BYTES = 4096;

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startLocalKms(options: {
  stacks: SynthesizedStack[];
  physical: PhysicalIds;
  file: string;
  port?: number;
}): Promise<LocalKms> {
  const saved: Record<string, StoredKey> = existsSync(options.file) ? JSON.parse(readFileSync(options.file, 'utf8')) : {};
  const keys = new Map<string, Buffer>();
  for (const { stack, logicalId } of resourcesOfType(options.stacks, 'AWS::KMS::Key')) {
    const name = physicalKey(stack, logicalId);
    const stored = saved[name] ?? { keyId: keyIdOf(name), material: randomBytes(32).toString('base64') };
    saved[name] = stored;
    keys.set(stored.keyId, Buffer.from(stored.material, 'base64'));
    options.physical.set(name, stored.keyId);
  }
  mkdirSync(dirname(options.file), { recursive: true });
  writeFileSync(options.file, JSON.stringify(saved, null, 2), { mode: 0o600 });

  // `alias/…` names a key through an AWS::KMS::Alias (whose Ref is its name).
  const resolver = new TemplateResolver(options.stacks, options.physical);
  const aliases = new Map<string, string>();
  for (const { stack, logicalId, resource } of resourcesOfType(options.stacks, 'AWS::KMS::Alias')) {
    const alias = resolver.resolve(stack, resource.Properties?.['AliasName']);
    const target = resolver.resolve(stack, resource.Properties?.['TargetKeyId']);
    aliases.set(alias, target.replace(/^arn:aws:kms:[^:]*:[^:]*:key\//, ''));
    options.physical.set(physicalKey(stack, logicalId), alias);
  }

  const arnOf = (keyId: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`;
  /** The key id a `KeyId` parameter names: key id, key ARN, alias name or alias ARN. */
  const keyIdFor = (given: unknown): string => {
    if (typeof given !== 'string' || given === '') throw new KmsError('ValidationException', "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");
    const bare = given.replace(/^arn:aws:kms:[^:]*:[^:]*:/, '');
    const keyId = bare.startsWith('alias/') ? aliases.get(bare) : bare.replace(/^key\//, '');
    if (keyId === undefined || !keys.has(keyId)) {
      throw new KmsError('NotFoundException', bare.startsWith('alias/') ? `Alias ${given} is not found.` : `Key '${arnOf(bare.replace(/^key\//, ''))}' does not exist`);
    }
    return keyId;
  };

  function encrypt(input: Record<string, unknown>): Record<string, unknown> {
    const keyId = keyIdFor(input['KeyId']);
    const plaintext = plaintextOf(input['Plaintext']);
    symmetricOnly(input['EncryptionAlgorithm']);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', keys.get(keyId)!, iv);
    cipher.setAAD(additionalData(keyId, input['EncryptionContext']));
    const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const id = Buffer.from(keyId, 'utf8');
    const blob = Buffer.concat([Buffer.from([BLOB_VERSION, id.length]), id, iv, cipher.getAuthTag(), sealed]);
    return { CiphertextBlob: blob.toString('base64'), KeyId: arnOf(keyId), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  }

  function decrypt(input: Record<string, unknown>): Record<string, unknown> {
    symmetricOnly(input['EncryptionAlgorithm']);
    const blob = typeof input['CiphertextBlob'] === 'string' ? Buffer.from(input['CiphertextBlob'], 'base64') : Buffer.alloc(0);
    const invalid = () => new KmsError('InvalidCiphertextException', 'The ciphertext is invalid, was not made by this key, or was made under another encryption context.');
    const idLength = blob[1] ?? 0;
    const headerLength = 2 + idLength + IV_BYTES + TAG_BYTES;
    if (blob[0] !== BLOB_VERSION || blob.length < headerLength) throw invalid();
    const blobKeyId = blob.subarray(2, 2 + idLength).toString('utf8');
    const key = keys.get(blobKeyId);
    // A key id that is not ours is a changed blob as far as anyone can tell.
    if (!key) throw invalid();
    if (input['KeyId'] !== undefined && keyIdFor(input['KeyId']) !== blobKeyId) {
      throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
    }
    const iv = blob.subarray(2 + idLength, 2 + idLength + IV_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAuthTag(blob.subarray(2 + idLength + IV_BYTES, headerLength));
    decipher.setAAD(additionalData(blobKeyId, input['EncryptionContext']));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([decipher.update(blob.subarray(headerLength)), decipher.final()]);
    } catch {
      throw invalid();
    }
    return { KeyId: arnOf(blobKeyId), Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  }

  const server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    try {
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        throw new KmsError('SerializationException', 'Start of structure or map found where not expected.');
      }
      if (target === 'TrentService.Encrypt') return reply(res, 200, encrypt(input));
      if (target === 'TrentService.Decrypt') return reply(res, 200, decrypt(input));
      throw new KmsError('UnknownOperationException', `local KMS does not do ${target}`);
    } catch (error) {
      if (!(error instanceof KmsError)) {
        console.error('[local-kms]', error);
        return reply(res, 500, { __type: 'KMSInternalException', message: 'An internal error occurred.' });
      }
      return reply(res, 400, { __type: error.type, message: error.message });
    }
  }

  return listenOnLoopback(server, options.port);
}

function reply(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() }).end(JSON.stringify(body));
}

/** A key id shaped like KMS's (a UUID), stable for the key's stack and logical id. */
function keyIdOf(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function plaintextOf(value: unknown): Buffer {
  const plaintext = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.alloc(0);
  if (plaintext.length === 0 || plaintext.length > MAX_PLAINTEXT_BYTES) {
    const bound = plaintext.length === 0 ? 'greater than or equal to 1' : `less than or equal to ${MAX_PLAINTEXT_BYTES}`;
    throw new KmsError('ValidationException', `1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length ${bound}`);
  }
  return plaintext;
}

function symmetricOnly(algorithm: unknown): void {
  if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') {
    throw new KmsError('InvalidKeyUsageException', `The encryption algorithm ${String(algorithm)} is not supported by a symmetric key.`);
  }
}

/**
 * What the ciphertext is bound to: the key, and the encryption context as canonical JSON (keys
 * sorted), so the same pairs in another order decrypt and any other pairs do not.
 */
function additionalData(keyId: string, context: unknown): Buffer {
  const pairs = context && typeof context === 'object' ? Object.entries(context as Record<string, unknown>) : [];
  if (pairs.some(([, v]) => typeof v !== 'string')) {
    throw new KmsError('ValidationException', 'EncryptionContext values must be strings');
  }
  const canonical = JSON.stringify(Object.fromEntries(pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  return Buffer.from(`${keyId}\n${canonical}`, 'utf8');
}
