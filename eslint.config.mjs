// Lint rules whose job is Temporal hygiene: workflow code is bundled and replayed, so it
// must not reach Node built-ins, drivers or activity implementations (types only).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const banned = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  'pg', 'pg-*', 'mongodb', 'kafkajs', '@temporalio/client', '@temporalio/worker', '@temporalio/activity',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'bin/**', 'dist/**', 'dist.new/**', 'dist.old/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: banned, message: 'Workflows are deterministic: no Node built-ins or drivers. Do the I/O in an activity.' },
          { group: ['../activities/*', '../activities'], allowTypeImports: true, message: 'Import activities as types only and call them through proxyActivities.' },
        ],
      }],
    },
  },
);
