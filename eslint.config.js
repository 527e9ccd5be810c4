import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'release/', 'test-artifacts/', 'bench-results/', 'scripts/deepseek/.venv/', 'scripts/deepseek/.venv-*/', 'clients/python/.venv*/', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', Buffer: 'readonly' } },
  },
  {
    // The rule of the house: core is plain Node, testable without Electron.
    files: ['electron/core/**', 'electron/cli/**', 'shared/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'electron/core, cli and shared must stay Electron-free (see docs/ARCHITECTURE.md).' }] }],
    },
  },
  {
    // Core is what the CLI, the app and the API are built on: it never reaches up into them.
    files: ['electron/core/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'electron/core must stay Electron-free (see docs/ARCHITECTURE.md).' }],
        patterns: [{ group: ['**/cli/*', '**/main/*'], message: 'electron/core must not import the CLI or the Electron edge (see docs/ARCHITECTURE.md).' }],
      }],
    },
  },
  {
    // The renderer and the contract never see Node.
    files: ['renderer/**', 'shared/**'],
    ignores: ['**/*.test.ts', '**/*.test.tsx', '**/*.test-d.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'The renderer talks only to the VisionApi.' }, ...nodeBuiltins.map((name) => ({ name, message: 'No Node built-ins in renderer/ or shared/.' }))],
      }],
    },
  },
);
