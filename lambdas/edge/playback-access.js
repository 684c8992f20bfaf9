// CloudFront Function (cloudfront-js-2.0), viewer request, on the `/v/*` behaviour: the only way
// to media. It admits `/v/{videoId}/{expires}.{kid}.{signature}/{path}` when the signature is
// HMAC-SHA256(key[kid], "{videoId}/{expires}") and `expires` is in the future, and rewrites the
// request to `/videos/{videoId}/{path}` in the media bucket. Everything else gets 403.
//
// The local CDN (local/cdn.ts) runs this same file, with a Map standing in for the KeyValueStore.
// The constants below repeat lambdas/contracts/playback.ts (this runtime cannot import it);
// test/unit/edge.test.ts fails if they drift.
import cf from 'cloudfront';

const crypto = require('crypto');

const KVS_KEY_PREFIX = 'playback-key-';
const SIGNATURE_HEX_DIGITS = 32;
const ORIGIN_PREFIX = '/videos/';
const PATH = /^\/v\/([A-Za-z0-9_-]{11})\/([0-9]{1,12})\.([a-z0-9]{1,16})\.([0-9a-f]+)\/(.+)$/;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

const kvs = cf.kvs();

async function handler(event) {
  const request = event.request;
  if (request.method === 'OPTIONS') return preflight(request);
  if (request.method !== 'GET' && request.method !== 'HEAD') return deny(405, 'Method Not Allowed', 'only GET and HEAD');

  const match = PATH.exec(request.uri);
  if (!match) return deny(403, 'Forbidden', 'not a playback URL');
  const videoId = match[1];
  const expires = Number(match[2]);
  const kid = match[3];
  const signature = match[4];
  const path = match[5];
  if (!safePath(path)) return deny(403, 'Forbidden', 'not a playback URL');
  if (expires * 1000 <= Date.now()) return deny(403, 'Forbidden', 'this playback URL has expired; ask the API for a new one');

  let key;
  try {
    key = await kvs.get(KVS_KEY_PREFIX + kid);
  } catch (e) {
    return deny(403, 'Forbidden', 'unknown signing key');
  }
  const expected = crypto
    .createHmac('sha256', key)
    .update(videoId + '/' + expires)
    .digest('hex')
    .substring(0, SIGNATURE_HEX_DIGITS);
  if (signature !== expected) return deny(403, 'Forbidden', 'bad signature');

  request.uri = ORIGIN_PREFIX + videoId + '/' + path;
  // The media is the same for every viewer: nothing of the viewer's reaches the origin.
  request.querystring = {};
  request.cookies = {};
  delete request.headers['authorization'];
  return request;
}

function safePath(path) {
  const segments = path.split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (!SEGMENT.test(segment) || segment === '.' || segment === '..') return false;
  }
  return segments.length <= 4;
}

function preflight(request) {
  const origin = request.headers['origin'];
  return {
    statusCode: 204,
    statusDescription: 'No Content',
    headers: {
      'access-control-allow-origin': { value: origin ? origin.value : '*' },
      'access-control-allow-methods': { value: 'GET, HEAD' },
      'access-control-allow-headers': { value: 'range' },
      'access-control-max-age': { value: '86400' },
      vary: { value: 'origin' },
    },
  };
}

function deny(statusCode, statusDescription, reason) {
  return {
    statusCode: statusCode,
    statusDescription: statusDescription,
    headers: {
      'content-type': { value: 'text/plain; charset=utf-8' },
      'cache-control': { value: 'no-store' },
      'access-control-allow-origin': { value: '*' },
    },
    body: { encoding: 'text', data: reason + '\n' },
  };
}
