module.exports = { displayName: 'storage-node', preset: '../../jest.preset.cjs' };
