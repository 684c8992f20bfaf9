import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(webRoot, '..');
/** The local gateway the dev server proxies `/api` (and media, once the local CDN serves it) to. */
const apiTarget = process.env['VODSTACK_API'] ?? 'http://127.0.0.1:3000';

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Development only: serves `/config.json` from the running local platform's `platform.json`,
 * as the local CDN does for the built app (and CloudFront does on AWS).
 */
function localConfig(): Plugin {
  const serve = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    if (req.url?.split('?')[0] !== '/config.json') return next();
    const dataDir = resolve(repoRoot, process.env['VODSTACK_DATA_DIR'] ?? '.local');
    const file = resolve(dataDir, 'platform.json');
    try {
      const platform = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      const demo = readJson(resolve(dataDir, 'demo.json'));
      const config = {
        region: 'us-east-1',
        userPoolId: platform['userPoolId'],
        userPoolClientId: platform['clientId'],
        cognitoEndpoint: platform['cognitoEndpoint'],
        // The seeded demo video (local/demo.ts), once it is ready.
        ...(demo?.['status'] === 'ready' && demo['videoId'] ? { demoVideoId: demo['videoId'] } : {}),
      };
      res.setHeader('content-type', 'application/json');
      res.setHeader('cache-control', 'no-store');
      res.end(JSON.stringify(config));
    } catch {
      res.statusCode = 503;
      res.setHeader('content-type', 'text/plain');
      res.end(`no local platform: ${file} is missing; run npm start first`);
    }
  };
  return {
    name: 'vodstack-local-config',
    configureServer: (server) => void server.middlewares.use(serve),
    configurePreviewServer: (server) => void server.middlewares.use(serve),
  };
}

export default defineConfig({
  root: webRoot,
  plugins: [react(), localConfig()],
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: { '/api': apiTarget, '/v/': apiTarget },
  },
  preview: { host: '127.0.0.1', port: 4173 },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Everything the app needs ships in the bundle: no CDN fonts, no runtime downloads.
    assetsInlineLimit: 4096,
    // hls.js alone is ~580 kB minified (~180 kB gzipped); it loads only on the watch page.
    chunkSizeWarningLimit: 700,
  },
});
