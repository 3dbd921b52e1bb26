import { clusterKeyOf, newer } from './topic-controller';

describe('newer', () => {
  it('orders resourceVersions that are decimal integers, and otherwise lets the cache win', () => {
    expect(newer('31', '29')).toBe(true);
    expect(newer('29', '31')).toBe(false);
    expect(newer('31', '31')).toBe(false);
    expect(newer('100', '99')).toBe(true);
    expect(newer('abc', '1')).toBe(false);
    expect(newer(undefined, '1')).toBe(false);
  });
});

describe('clusterKeyOf', () => {
  it("names the Cluster in the reference's namespace, else the Topic's", () => {
    const topic = (namespace?: string) => ({ metadata: { name: 't', namespace: 'apps' }, spec: { clusterRef: { name: 'main', ...(namespace === undefined ? {} : { namespace }) }, partitions: 1 } });
    expect(clusterKeyOf(topic())).toBe('apps/main');
    expect(clusterKeyOf(topic('infra'))).toBe('infra/main');
  });
});
