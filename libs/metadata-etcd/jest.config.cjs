module.exports = { displayName: 'metadata-etcd', preset: '../../jest.preset.cjs' };
