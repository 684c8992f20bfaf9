import { defineConfig } from 'vitest/config';

// Lambda runs Node 22; tests run on the machine's Node 20. The SDK's notice about that is noise here.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
process.env['AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE'] = '1';

/**
 * Four projects, from fastest to slowest: unit (no network), infra (CDK template assertions),
 * integration (the local platform over real HTTP), e2e (a real browser against the platform).
 */
export default defineConfig({
  test: {
    projects: [
      // Handlers' Powertools logs and metrics stay out of the output; tests that read them turn them on.
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node', env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' } } },
      { test: { name: 'infra', include: ['test/infra/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 180_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
