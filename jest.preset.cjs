// Shared Jest settings for every project. Tests run the TypeScript sources directly
// (transpile-only: type errors are the `typecheck` target's job, which keeps tests fast).
const { join } = require('node:path');

module.exports = {
  reporters: ['default', join(__dirname, 'tools', 'scripts', 'jest-results-reporter.cjs')],
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  // Workspace libraries are symlinked into node_modules and point at their TypeScript sources.
  transformIgnorePatterns: ['/node_modules/(?!@starlane/)'],
  clearMocks: true,
};
