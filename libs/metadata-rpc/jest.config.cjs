module.exports = { displayName: 'metadata-rpc', preset: '../../jest.preset.cjs' };
