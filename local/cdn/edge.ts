import { readFileSync } from 'node:fs';
import * as nodeCrypto from 'node:crypto';
import { createContext, Script } from 'node:vm';

/** The parts of a CloudFront Functions event our functions read and write. */
export interface EdgeRequest {
  method: string;
  uri: string;
  querystring: Record<string, { value: string }>;
  headers: Record<string, { value: string }>;
  cookies: Record<string, { value: string }>;
}

export interface EdgeResponse {
  statusCode: number;
  statusDescription?: string;
  headers?: Record<string, { value: string }>;
  body?: string | { encoding: 'text' | 'base64'; data: string };
}

export type EdgeHandler = (event: { version: '1.0'; request: EdgeRequest; viewer: { ip: string } }) => Promise<EdgeRequest | EdgeResponse>;

/**
 * Loads a CloudFront Function (cloudfront-js-2.0) from its source file — the very file CDK
 * deploys — into a V8 context with what that runtime offers it: `require('crypto')` and
 * `import cf from 'cloudfront'` with `cf.kvs()` backed by `keyValues` (the KeyValueStore).
 * Like the real runtime, a missing key makes `kvs.get` reject.
 */
export function loadEdgeFunction(file: string, keyValues: () => ReadonlyMap<string, string>): EdgeHandler {
  const source = readFileSync(file, 'utf8');
  const importLine = /^import cf from 'cloudfront';$/m;
  const cf = {
    kvs: () => ({
      get: async (key: string) => {
        const value = keyValues().get(key);
        if (value === undefined) throw new Error(`Key not found: ${key}`);
        return value;
      },
      exists: async (key: string) => keyValues().has(key),
    }),
  };
  const require = (name: string) => {
    if (name === 'crypto') return nodeCrypto;
    throw new Error(`CloudFront Functions have no module ${name}`);
  };
  const context = createContext({ cf, require, console, Buffer });
  const script = new Script(`${source.replace(importLine, '')}\n;handler`, { filename: file });
  return script.runInContext(context) as EdgeHandler;
}

export function isEdgeResponse(value: EdgeRequest | EdgeResponse): value is EdgeResponse {
  return 'statusCode' in value;
}
