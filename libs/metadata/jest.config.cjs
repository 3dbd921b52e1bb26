module.exports = { displayName: 'metadata', preset: '../../jest.preset.cjs' };
