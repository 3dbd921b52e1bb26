module.exports = { displayName: 'local-cluster', preset: '../../jest.preset.cjs' };
