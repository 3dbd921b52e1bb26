module.exports = { displayName: 'record-batch', preset: '../../jest.preset.cjs' };
