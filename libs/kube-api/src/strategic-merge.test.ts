// Strategic merge patch with the patch shapes kubectl sends (kubernetes/community
// contributors/devel/sig-api-machinery/strategic-merge-patch.md).
import { KubeStatusError } from './status';
import { strategicMergePatch } from './strategic-merge';

const deployment = (): Record<string, unknown> => ({
  kind: 'Deployment',
  metadata: { name: 'x', finalizers: ['a', 'b', 'c'], labels: { app: 'x' } },
  spec: {
    replicas: 1,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } },
    template: {
      spec: {
        tolerations: [{ key: 't1' }],
        containers: [
          { name: 'c', image: 'img:1', ports: [{ containerPort: 80, name: 'http' }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
          { name: 'side', image: 'side:1' },
        ],
      },
    },
  },
});
type Spec = { template: { spec: { containers: Record<string, unknown>[]; tolerations: unknown[] } }; strategy: Record<string, unknown> };
const specOf = (o: unknown): Spec => (o as { spec: Spec }).spec;

describe('strategic merge patch', () => {
  it('merges containers by name as kubectl set image sends it, keeping ports and storing no directive', () => {
    const patch = { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'side' }], containers: [{ image: 'img:2', name: 'c' }] } } } };
    const out = strategicMergePatch('Deployment', deployment(), patch);
    expect(specOf(out).template.spec.containers).toEqual([
      { name: 'c', image: 'img:2', ports: [{ containerPort: 80, name: 'http' }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
      { name: 'side', image: 'side:1' },
    ]);
    expect(JSON.stringify(out)).not.toContain('$');
  });

  it('merges nested lists by their keys (env by name, ports by containerPort) and appends new elements', () => {
    const patch = { spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'B', value: '3' }, { name: 'C', value: '4' }], ports: [{ containerPort: 9090 }] }, { name: 'new', image: 'n:1' }] } } } };
    const [c, side, added] = specOf(strategicMergePatch('Deployment', deployment(), patch)).template.spec.containers;
    expect(c).toMatchObject({ env: [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: '4' }], ports: [{ containerPort: 80, name: 'http' }, { containerPort: 9090 }] });
    expect(side).toEqual({ name: 'side', image: 'side:1' });
    expect(added).toEqual({ name: 'new', image: 'n:1' });
  });

  it('deletes a keyed element with $patch: delete and replaces a list with a $patch: replace element', () => {
    const deleted = strategicMergePatch('Deployment', deployment(), { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } } });
    expect(specOf(deleted).template.spec.containers.map((c) => c.name)).toEqual(['c']);
    const replaced = strategicMergePatch('Deployment', deployment(), { spec: { template: { spec: { containers: [{ name: 'only', image: 'o:1' }, { $patch: 'replace' }] } } } });
    expect(specOf(replaced).template.spec.containers).toEqual([{ name: 'only', image: 'o:1' }]);
  });

  it('replaces or deletes a map with $patch and clears keys outside $retainKeys', () => {
    const replaced = strategicMergePatch('Deployment', deployment(), { spec: { strategy: { $patch: 'replace', type: 'Recreate' } } });
    expect(specOf(replaced).strategy).toEqual({ type: 'Recreate' });
    const deleted = strategicMergePatch('Deployment', deployment(), { spec: { strategy: { rollingUpdate: { $patch: 'delete' } } } });
    expect(specOf(deleted).strategy).toEqual({ type: 'RollingUpdate' });
    // kubectl apply sends $retainKeys for union types such as a Deployment's strategy.
    const retained = strategicMergePatch('Deployment', deployment(), { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } });
    expect(specOf(retained).strategy).toEqual({ type: 'Recreate' });
  });

  it('treats finalizers as a set: union, $deleteFromPrimitiveList and $setElementOrder', () => {
    const out = strategicMergePatch('Deployment', deployment(), { metadata: { finalizers: ['d', 'a'], '$deleteFromPrimitiveList/finalizers': ['b'], '$setElementOrder/finalizers': ['d', 'c', 'a'] } }) as { metadata: { finalizers: string[] } };
    expect(out.metadata.finalizers).toEqual(['d', 'c', 'a']);
  });

  it('replaces lists that have no merge strategy (tolerations, RBAC rules) and merges maps as JSON merge patch does', () => {
    const out = strategicMergePatch('Deployment', deployment(), { metadata: { labels: { app: null, tier: 'web' } }, spec: { template: { spec: { tolerations: [{ key: 't2' }] } } } }) as { metadata: { labels: unknown } };
    expect(specOf(out).template.spec.tolerations).toEqual([{ key: 't2' }]);
    expect(out.metadata.labels).toEqual({ tier: 'web' });
    const role = strategicMergePatch('Role', { rules: [{ verbs: ['get'] }, { verbs: ['list'] }] }, { rules: [{ verbs: ['watch'] }] });
    expect(role).toEqual({ rules: [{ verbs: ['watch'] }] });
  });

  it('merges service ports by port and owner references by uid', () => {
    const service = { metadata: { ownerReferences: [{ uid: 'u1', name: 'a' }] }, spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
    const out = strategicMergePatch('Service', service, { metadata: { ownerReferences: [{ uid: 'u2', name: 'b' }] }, spec: { ports: [{ port: 80, targetPort: 9090 }] } });
    expect(out).toEqual({ metadata: { ownerReferences: [{ uid: 'u1', name: 'a' }, { uid: 'u2', name: 'b' }] }, spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443 }] } });
  });

  it('refuses an element without its merge key, an unknown directive and a patch that is not an object with 400', () => {
    for (const patch of [{ spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, { spec: { $patch: 'explode' } }, { $bogus: 1 }, [1]]) {
      let thrown: unknown;
      try {
        strategicMergePatch('Deployment', deployment(), patch);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(KubeStatusError);
      expect((thrown as KubeStatusError).code).toBe(400);
    }
  });
});
