module.exports = { displayName: 'replica', preset: '../../jest.preset.cjs' };
