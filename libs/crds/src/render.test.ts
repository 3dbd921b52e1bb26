import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { clusterCrd } from './cluster';
import { crdManifest } from './schema';
import { renderCrdFiles } from './render';
import { topicCrd } from './topic';

const root = join(__dirname, '..', '..', '..');

describe('CRD YAML', () => {
  it.each([...renderCrdFiles().keys()])('committed %s equals the generated output (npx nx run crds:generate)', (path) => {
    const committed = readFileSync(join(root, path), 'utf8');
    expect(committed).toBe(renderCrdFiles().get(path));
  });

  it('round-trips: the YAML parses back to the manifest', () => {
    for (const def of [topicCrd, clusterCrd]) {
      const [, yaml] = [...renderCrdFiles()].find(([p]) => p.endsWith(`${def.plural}.starlane.dev.yaml`)) ?? [];
      expect(parse(yaml ?? '')).toEqual(crdManifest(def));
    }
  });

  it('Topic has the status subresource, short names and printer columns', () => {
    const spec = crdManifest(topicCrd)['spec'] as {
      names: { shortNames: string[] };
      versions: { name: string; subresources: Record<string, unknown>; additionalPrinterColumns: { name: string }[] }[];
    };
    expect(spec.names.shortNames.length).toBeGreaterThan(0);
    expect(spec.versions[0]?.name).toBe('v1alpha1');
    expect(spec.versions[0]?.subresources).toEqual({ status: {} });
    expect(spec.versions[0]?.additionalPrinterColumns.map((c) => c.name)).toContain('Ready');
  });

  it('Cluster scales on its storage-node count', () => {
    const spec = crdManifest(clusterCrd)['spec'] as { versions: { subresources: Record<string, unknown> }[] };
    expect(spec.versions[0]?.subresources['scale']).toEqual({
      specReplicasPath: '.spec.storageNodes.replicas',
      statusReplicasPath: '.status.storageNodes',
      labelSelectorPath: '.status.selector',
    });
  });
});
