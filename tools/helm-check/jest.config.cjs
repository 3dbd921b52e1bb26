module.exports = { displayName: 'helm-check', preset: '../../jest.preset.cjs' };
