// @kubernetes/client-node and its openid-client / jose / oauth4webapi dependencies ship as ES modules only;
// Jest runs CommonJS here, so those packages are compiled to CommonJS like our own sources.
module.exports = {
  preset: '../../jest.preset.cjs',
  displayName: 'kube-api',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
    '^.+\\.m?js$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.esm-deps.json' }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@starlane|@kubernetes/client-node|openid-client|oauth4webapi|jose|jsonpath-plus)/)'],
};
