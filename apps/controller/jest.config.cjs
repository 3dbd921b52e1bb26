module.exports = { displayName: 'controller', preset: '../../jest.preset.cjs' };
