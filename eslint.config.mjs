// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      '.tools',
      '.data',
      'bin',
      'lib',
      'scripts/*.js',
      'test/fixtures',
      'eslint.config.mjs',
      'examples/*/dist',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test registers tests synchronously; the returned promises are the runner's business.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no Node built-ins, no clients.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflows must not use Node built-ins.' },
            {
              group: [
                'fs',
                'fs/*',
                'path',
                'os',
                'crypto',
                'child_process',
                'net',
                'http',
                'https',
                'stream',
                'events',
                'util',
                'timers',
                'timers/*',
                'worker_threads',
                'dns',
                'tls',
                'zlib',
                'url',
                'buffer',
                'process',
              ],
              message: 'Workflows must not use Node built-ins.',
            },
            {
              group: [
                'ioredis',
                'basic-ftp',
                'pino',
                '@temporalio/worker',
                '@temporalio/client',
                '@temporalio/activity',
              ],
              message: 'Workflows hold no I/O: call an activity instead.',
            },
            {
              group: ['**/activities/*', '**/ledger/*', '**/ftp/*', '**/stack/*', '**/worker/*'],
              allowTypeImports: true,
              message: 'Import activity/infra code as types only.',
            },
          ],
        },
      ],
    },
  },
);
