module.exports = { displayName: 'partitioner', preset: '../../jest.preset.cjs' };
