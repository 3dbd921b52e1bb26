import { newer, topicResource } from './topic-controller';

describe('newer', () => {
  it('orders resourceVersions that are decimal integers, and otherwise lets the cache win', () => {
    const at = (resourceVersion: string) => ({ metadata: { resourceVersion } });
    expect(newer(at('31'), at('29'))).toBe(true);
    expect(newer(at('29'), at('31'))).toBe(false);
    expect(newer(at('31'), at('31'))).toBe(false);
    expect(newer(at('100'), at('99'))).toBe(true);
    expect(newer(at('abc'), at('1'))).toBe(false);
  });
});

describe('topicResource', () => {
  it('reads a Topic object as the reconciler needs it, with safe defaults for what admission would have refused', () => {
    const resource = topicResource({
      metadata: { name: 'orders', namespace: 'apps', generation: 2, creationTimestamp: '2025-12-31T00:00:00Z', deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['starlane.dev/topic'] },
      spec: { clusterRef: { name: 'main' }, partitions: 3 },
      status: { topicId: 'id' },
    });
    expect(resource).toEqual({
      metadata: { name: 'orders', namespace: 'apps', generation: 2, creationTimestamp: '2025-12-31T00:00:00Z', deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['starlane.dev/topic'] },
      spec: { clusterRef: { name: 'main' }, partitions: 3 },
      status: { topicId: 'id' },
    });
    expect(topicResource({ metadata: { name: 'x' } }).spec).toEqual({ clusterRef: { name: '' }, partitions: 0 });
  });
});
