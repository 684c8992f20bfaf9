import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', '.local/', 'web/dist/', 'layers/**/bin/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The browser app: browser globals, and the rules of hooks.
    files: ['web/src/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
    ...reactHooks.configs.flat.recommended,
  },
  {
    // Its build config and scripts run on Node.
    files: ['web/vite.config.ts', 'web/scripts/**/*.ts'],
    languageOptions: { globals: globals.node },
  },
  {
    // Tests read JSON bodies whose shape the assertions check.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The domain speaks in domain words: no AWS SDK, no Lambda types, no infrastructure.
    files: ['lambdas/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@aws-sdk/*', 'aws-lambda', 'aws-cdk-lib', 'aws-cdk-lib/*'], message: 'lambdas/domain depends on ports only; put SDK code in lambdas/adapters.' },
            { group: ['#adapters/*', '#composition/*', '#handlers/*', '**/adapters/**'], message: 'the domain must not import adapters or handlers.' },
          ],
        },
      ],
    },
  },
  {
    // Handlers are thin: config is read once in the composition root.
    files: ['lambdas/handlers/**/*.ts', 'lambdas/domain/**/*.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'read config in lambdas/composition via contracts/env.' }],
    },
  },
  {
    // CloudFront Functions (cloudfront-js-2.0): modules come by `require`, and CloudFront calls
    // the top-level `handler` by name.
    files: ['lambdas/edge/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { require: 'readonly' } },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^handler$', caughtErrors: 'none' }],
    },
  },
);
