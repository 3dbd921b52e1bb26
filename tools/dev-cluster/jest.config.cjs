module.exports = { displayName: 'dev-cluster', preset: '../../jest.preset.cjs' };
