module.exports = { displayName: 'crds', preset: '../../jest.preset.cjs' };
