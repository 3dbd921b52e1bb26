import { stringify } from 'yaml';
import { clusterCrd } from './cluster';
import { crdManifest, type CrdDefinition } from './schema';
import { topicCrd } from './topic';

/** Every CRD Starlane defines, in the order they are written. */
export const starlaneCrds: readonly CrdDefinition[] = [topicCrd, clusterCrd];

const generatedHeader = '# Generated from libs/crds by `npx nx run crds:generate`; do not edit by hand.\n';

/** The YAML of one CRD, byte for byte what is committed. */
export function renderCrdYaml(def: CrdDefinition): string {
  return generatedHeader + stringify(crdManifest(def), { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Folders (relative to the repository root) that hold the committed CRD YAML. */
export const crdOutputDirs: readonly string[] = ['helm/starlane/crds', 'deploy/crds'];

/** Every generated file: repository-relative path → content. */
export function renderCrdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of crdOutputDirs) {
    for (const def of starlaneCrds) files.set(`${dir}/${def.plural}.starlane.dev.yaml`, renderCrdYaml(def));
  }
  return files;
}
