import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlatformInfo } from './platform.ts';
import { signUpAndSignIn } from './users.ts';

/**
 * `npm run local:token -- [email] [password]`: creates (or reuses) a user on the running local
 * platform and prints an ID token for `curl -H "Authorization: Bearer $TOKEN"`.
 */
const dataDir = process.env['VODSTACK_DATA_DIR'] ?? '.local';
let info: PlatformInfo;
try {
  info = JSON.parse(readFileSync(join(dataDir, 'platform.json'), 'utf8')) as PlatformInfo;
} catch {
  console.error(`no running platform found in ${dataDir}/; start it with "npm start" first`);
  process.exit(1);
}
const email = process.argv[2] ?? 'creator@example.com';
const password = process.argv[3] ?? 'Local-Passw0rd!';
const tokens = await signUpAndSignIn(info, email, password);
console.error(`user ${email} (password ${password}); ID token below, valid for 1 hour:`);
console.log(tokens.idToken);
