module.exports = { displayName: 'node-io', preset: '../../jest.preset.cjs' };
