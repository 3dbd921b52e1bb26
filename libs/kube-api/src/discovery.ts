// Discovery documents in their plain (non-aggregated) form: kubectl and helm fall back to
// /api/v1 and /apis/<group>/<version> when /api and /apis answer APIVersions / APIGroupList.
import { allVerbs, categoriesByResource, verbsByResource } from './builtins';
import { type ResourceRegistry, type ResourceType, storageKeyOf } from './resources';

export function versionInfo(): Record<string, string> {
  return {
    major: '1',
    minor: '34',
    gitVersion: 'v1.34.0-starlane.0',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.24.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function coreVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function group(name: string, versions: string[]): Record<string, unknown> {
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: entries, preferredVersion: entries[0] };
}

export function groupList(registry: ResourceRegistry): Record<string, unknown> {
  const groups = [...registry.groups()].filter(([name]) => name !== '').map(([name, versions]) => group(name, versions));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(registry: ResourceRegistry, name: string): Record<string, unknown> | undefined {
  const versions = registry.groups().get(name);
  return versions && name !== '' ? { kind: 'APIGroup', apiVersion: 'v1', ...group(name, versions) } : undefined;
}

function entries(r: ResourceType): Record<string, unknown>[] {
  const categories = r.categories.length > 0 ? r.categories : (categoriesByResource.get(storageKeyOf(r)) ?? []);
  const main = {
    name: r.plural,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: verbsByResource.get(storageKeyOf(r)) ?? allVerbs,
    ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
    ...(categories.length > 0 ? { categories } : {}),
  };
  const out: Record<string, unknown>[] = [main];
  if (r.statusSubresource) out.push({ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] });
  if (r.scale) out.push({ name: `${r.plural}/scale`, singularName: '', namespaced: r.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
  return out;
}

export function resourceList(registry: ResourceRegistry, groupName: string, version: string): Record<string, unknown> | undefined {
  const served = registry.all().filter((r) => r.group === groupName && r.version === version);
  if (served.length === 0) return undefined;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupName ? `${groupName}/${version}` : version, resources: served.flatMap(entries) };
}
