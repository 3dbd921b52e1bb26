module.exports = { displayName: 'launcher', preset: '../../jest.preset.cjs' };
