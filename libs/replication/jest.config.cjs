module.exports = { displayName: 'replication', preset: '../../jest.preset.cjs' };
