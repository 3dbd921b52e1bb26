module.exports = { displayName: 'simulate', preset: '../../jest.preset.cjs' };
