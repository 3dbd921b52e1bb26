import { topicFromObject } from './topic-controller';

describe('topicFromObject', () => {
  it('reads a Topic object as the reconciler needs it, with safe defaults for what admission would have refused', () => {
    const resource = topicFromObject({
      metadata: { name: 'orders', namespace: 'apps', generation: 2, creationTimestamp: '2025-12-31T00:00:00Z', deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['starlane.dev/topic'] },
      spec: { clusterRef: { name: 'main' }, partitions: 3 },
      status: { topicId: 'id' },
    });
    expect(resource).toEqual({
      metadata: { name: 'orders', namespace: 'apps', generation: 2, creationTimestamp: '2025-12-31T00:00:00Z', deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['starlane.dev/topic'] },
      spec: { clusterRef: { name: 'main' }, partitions: 3 },
      status: { topicId: 'id' },
    });
    expect(topicFromObject({ metadata: { name: 'x' } }).spec).toEqual({ clusterRef: { name: '' }, partitions: 0 });
  });
});
