module.exports = { displayName: 'reconcile', preset: '../../jest.preset.cjs' };
