module.exports = { displayName: 'operator', preset: '../../jest.preset.cjs' };
