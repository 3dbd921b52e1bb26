// The process test drives the local Kubernetes API with the real @kubernetes/client-node, which ships
// (with openid-client / jose / oauth4webapi / jsonpath-plus) as ES modules only; Jest runs CommonJS
// here, so those packages are compiled to CommonJS like our own sources (as in libs/kube-api).
module.exports = {
  preset: '../../jest.preset.cjs',
  displayName: 'kube',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
    '^.+\\.m?js$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.esm-deps.json' }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@starlane|@kubernetes/client-node|openid-client|oauth4webapi|jose|jsonpath-plus)/)'],
};
