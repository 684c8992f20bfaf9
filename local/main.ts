import './node20.ts';
import { startPlatform } from './platform.ts';

/** `npm start`: the whole platform on loopback, data kept under `.local/`. */
const started = performance.now();
console.log('vodstack: starting the local platform…');
const platform = await startPlatform({
  dataDir: process.env['VODSTACK_DATA_DIR'] ?? '.local',
  port: Number(process.env['PORT'] ?? 3000),
});
console.log(`
vodstack is up in ${((performance.now() - started) / 1000).toFixed(1)} s

  API         ${platform.apiUrl}/api/v1
  S3          ${platform.s3Endpoint}   (buckets ${platform.rawBucket}, ${platform.mediaBucket})
  DynamoDB    ${platform.dynamoEndpoint}   (table ${platform.tableName})
  Cognito     ${platform.cognitoEndpoint}   (pool ${platform.userPoolId}, client ${platform.clientId})

  A token for curl:  npm run local:token -- you@example.com
  Stop with Ctrl-C; data stays in ${process.env['VODSTACK_DATA_DIR'] ?? '.local'}/.
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log('vodstack: stopping…');
    platform.stop().then(() => process.exit(0));
  });
}
