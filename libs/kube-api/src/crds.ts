// What writing a CustomResourceDefinition does: checks the names, serves its versions at once (the real
// server's establishing controller does it asynchronously), and marks it Established / NamesAccepted.
import { jsonPathProblem } from './jsonpath';
import { type ResourceRegistry, resourcesOfCrd } from './resources';
import { type KubeObject } from './store';
import { type StatusCause, invalid } from './status';

/* eslint-disable @typescript-eslint/no-explicit-any -- a CRD is user JSON, read defensively */
export function checkCrd(crd: KubeObject): void {
  const spec: any = crd.spec ?? {};
  const causes: StatusCause[] = [];
  const need = (ok: unknown, field: string): void => {
    if (!ok) causes.push({ reason: 'FieldValueRequired', field, message: 'Required value' });
  };
  need(spec.group, 'spec.group');
  need(spec.names?.plural, 'spec.names.plural');
  need(spec.names?.kind, 'spec.names.kind');
  need(Array.isArray(spec.versions) && spec.versions.length > 0, 'spec.versions');
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') causes.push({ reason: 'FieldValueNotSupported', field: 'spec.scope', message: `Unsupported value: ${JSON.stringify(spec.scope)}: supported values: "Cluster", "Namespaced"` });
  if (spec.names?.plural && spec.group && crd.metadata?.name !== `${spec.names.plural}.${spec.group}`) {
    causes.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${crd.metadata?.name}": must be spec.names.plural+"."+spec.group` });
  }
  const storage = Array.isArray(spec.versions) ? spec.versions.filter((v: any) => v.storage === true).length : 0;
  if (storage !== 1) causes.push({ reason: 'FieldValueInvalid', field: 'spec.versions', message: `Invalid value: ${JSON.stringify(spec.versions ?? [])}: must have exactly one version marked as storage version` });
  // Printer columns are read on every Table answer: a JSONPath they cannot evaluate is refused here, as the
  // real server's CRD validation does, rather than failing later reads.
  (Array.isArray(spec.versions) ? spec.versions : []).forEach((v: any, i: number) => {
    (Array.isArray(v?.additionalPrinterColumns) ? v.additionalPrinterColumns : []).forEach((c: any, j: number) => {
      const problem = jsonPathProblem(c?.jsonPath);
      if (problem) causes.push({ reason: 'FieldValueInvalid', field: `spec.versions[${i}].additionalPrinterColumns[${j}].jsonPath`, message: `Invalid value: ${JSON.stringify(c?.jsonPath ?? null)}: ${problem}` });
    });
  });
  (Array.isArray(spec.versions) ? spec.versions : []).forEach((v: any, i: number) => causes.push(...scalePathCauses(v?.subresources?.scale, `spec.versions[${i}].subresources.scale`)));
  if (causes.length > 0) throw invalid('CustomResourceDefinition', 'apiextensions.k8s.io', String(crd.metadata?.name ?? ''), causes);
}

/** A scale path names a plain field under `.spec` / `.status` (the real server's CRD validation): never a prototype. */
const scalePathPattern = (roots: string): RegExp => new RegExp(`^\\.(?:${roots})(?:\\.[A-Za-z0-9_-]+)+$`, 'u');
const prototypeSegment = /\.(?:__proto__|constructor|prototype)(?:\.|$)/u;

function scalePathCauses(scale: any, field: string): StatusCause[] {
  if (scale === undefined || scale === null) return [];
  const rules: [string, RegExp, boolean, string][] = [
    ['specReplicasPath', scalePathPattern('spec'), true, 'must be a json path under .spec'],
    ['statusReplicasPath', scalePathPattern('status'), true, 'must be a json path under .status'],
    ['labelSelectorPath', scalePathPattern('spec|status'), false, 'must be a json path under .spec or .status'],
  ];
  const causes: StatusCause[] = [];
  for (const [name, pattern, required, what] of rules) {
    const value: unknown = scale[name];
    if (value === undefined && !required) continue;
    if (typeof value !== 'string' || !pattern.test(value) || prototypeSegment.test(value)) {
      causes.push({ reason: 'FieldValueInvalid', field: `${field}.${name}`, message: `Invalid value: ${JSON.stringify(value ?? null)}: ${what}` });
    }
  }
  return causes;
}

export function crdStatus(crd: KubeObject, now: string): Record<string, unknown> {
  const spec: any = crd.spec;
  const condition = (type: string, reason: string, message: string): Record<string, string> => ({ type, status: 'True', lastTransitionTime: now, reason, message });
  return {
    acceptedNames: spec.names,
    storedVersions: spec.versions.filter((v: any) => v.storage === true).map((v: any) => v.name),
    conditions: [condition('NamesAccepted', 'NoConflicts', 'no conflicts found'), condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted')],
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Serves exactly the versions the CRD now declares. */
export function registerCrd(registry: ResourceRegistry, crd: KubeObject, previous?: KubeObject): void {
  if (previous) unregisterCrd(registry, previous);
  for (const r of resourcesOfCrd(crd)) registry.add(r);
}

export function unregisterCrd(registry: ResourceRegistry, crd: KubeObject): void {
  registry.removeGroupResource(String(crd.spec?.group), String(crd.spec?.names?.plural));
}
