// What a real API server fills in on built-in kinds when they are written (their registry strategies and
// v1 conversions), where kubectl shows the difference: a Secret's `type` defaults to Opaque and its
// write-only `stringData` is merged into `data` (base64); a new Namespace is `Active`.
import type { ResourceType } from './resources';
import type { KubeObject } from './store';

export function builtInDefaults(r: ResourceType, object: KubeObject, creating: boolean): void {
  if (!r.builtIn || r.group !== '') return;
  if (r.plural === 'secrets') {
    object.type ??= 'Opaque';
    const stringData: unknown = object.stringData;
    if (stringData && typeof stringData === 'object') {
      const data: Record<string, string> = { ...(object.data ?? {}) };
      for (const [key, value] of Object.entries(stringData)) data[key] = Buffer.from(String(value), 'utf8').toString('base64');
      object.data = data;
    }
    delete object.stringData;
  }
  if (r.plural === 'namespaces' && creating) object.status = { ...(object.status ?? {}), phase: object.status?.phase ?? 'Active' };
}
