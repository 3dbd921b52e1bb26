// Lint rules for the whole workspace.
//
// The module-boundary constraints below ARE the architecture: they decide which layer may
// depend on which. Think hard before loosening one, and update ARCHITECTURE.md when you do.
import nx from '@nx/eslint-plugin';

// Folders of pure domain code: deterministic, replayable, testable by seeded simulation.
// Time, randomness and I/O are injected, never reached for.
const deterministicSources = ['libs/model/src/**/*.ts', 'libs/io-ports/src/**/*.ts', 'libs/record-batch/src/**/*.ts', 'libs/log/src/**/*.ts', 'libs/replica/src/**/*.ts', 'libs/reconcile/src/**/*.ts'];

// I/O and framework modules a domain library must never import.
const ioModules = [
  '@grpc/*', '@kubernetes/*', '@starlane/proto', 'pino', 'prom-client', 'etcd3',
  'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'net', 'node:net', 'http', 'node:http',
  'http2', 'node:http2', 'child_process', 'node:child_process', 'timers', 'node:timers',
];

// Layers (type) and scopes. Tests may also use the testing library; production code may not.
// Anything that does I/O (gRPC, files, sockets, signals, timers; the service host included) is an
// adapter: only apps, features, other adapters, testing libraries and tools may depend on it.
// Util libraries (ids, errors, bounds, the I/O ports as interfaces) do none and depend on util only.
function moduleBoundaries({ tests }) {
  const withTesting = (tags) => (tests ? [...tags, 'type:testing'] : tags);
  return {
    enforceBuildableLibDependency: false,
    allow: [],
    depConstraints: [
      { sourceTag: 'type:app', onlyDependOnLibsWithTags: withTesting(['type:feature', 'type:adapter', 'type:domain', 'type:proto', 'type:util']) },
      { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:feature', 'type:adapter', 'type:domain', 'type:proto', 'type:util', 'type:testing'] },
      { sourceTag: 'type:feature', onlyDependOnLibsWithTags: withTesting(['type:feature', 'type:adapter', 'type:domain', 'type:proto', 'type:util']) },
      { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: withTesting(['type:adapter', 'type:domain', 'type:proto', 'type:util']) },
      { sourceTag: 'type:domain', onlyDependOnLibsWithTags: withTesting(['type:domain', 'type:util']), bannedExternalImports: ioModules },
      { sourceTag: 'type:util', onlyDependOnLibsWithTags: withTesting(['type:util']) },
      { sourceTag: 'type:proto', onlyDependOnLibsWithTags: [] },
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:feature', 'type:adapter', 'type:domain', 'type:proto', 'type:util', 'type:testing'] },
      // An app's own libraries stay out of other apps.
      { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
      { sourceTag: 'scope:controller', onlyDependOnLibsWithTags: ['scope:shared', 'scope:controller'] },
      { sourceTag: 'scope:storage-node', onlyDependOnLibsWithTags: ['scope:shared', 'scope:storage-node'] },
      { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:shared', 'scope:gateway'] },
      { sourceTag: 'scope:operator', onlyDependOnLibsWithTags: ['scope:shared', 'scope:operator'] },
      { sourceTag: 'scope:tools', onlyDependOnLibsWithTags: ['scope:shared', 'scope:tools'] },
    ],
  };
}

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/node_modules', '**/coverage', 'libs/proto/src/gen/**', '.nx/**'],
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', moduleBoundaries({ tests: false })],
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@starlane/*/src', '@starlane/*/src/**'], message: 'Import a library through its index (its package name), never its src/.' }] },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration[exported=null]', message: 'Export names explicitly; `export *` hides what a library promises.' },
        { selector: "ThrowStatement > Literal", message: 'Throw an Error with a code, never a string.' },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', moduleBoundaries({ tests: true })],
    },
  },
  {
    files: deterministicSources,
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'performance'].map((name) => ({
          name,
          message: 'Domain code is deterministic: take time and scheduling from an injected Clock.',
        })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Take time from an injected Clock.' },
        { object: 'Math', property: 'random', message: 'Take randomness from an injected seeded Random.' },
        { object: 'process', property: 'hrtime', message: 'Take time from an injected Clock.' },
      ],
    },
  },
];
