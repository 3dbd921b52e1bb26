module.exports = { displayName: 'io-ports', preset: '../../jest.preset.cjs' };
