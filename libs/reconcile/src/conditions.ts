import type { Condition, ConditionStatus, TopicStatus } from './topic-resource';

export const readyCondition = 'Ready';
export const pausedCondition = 'ReconciliationPaused';

export interface ConditionInput {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

/**
 * Sets one condition in a list, keeping `lastTransitionTime` from the previous condition of the
 * same type when its status did not change (Kubernetes API conventions: the time says when the
 * status last flipped, not when it was last written).
 */
export function setCondition(previous: readonly Condition[] | undefined, next: ConditionInput, nowIso: string, generation: number | undefined): Condition[] {
  const others = (previous ?? []).filter((condition) => condition.type !== next.type);
  const old = (previous ?? []).find((condition) => condition.type === next.type);
  const lastTransitionTime = old !== undefined && old.status === next.status ? old.lastTransitionTime : nowIso;
  const condition: Condition = generation === undefined ? { ...next, lastTransitionTime } : { ...next, lastTransitionTime, observedGeneration: generation };
  return [...others, condition].sort((a, b) => a.type.localeCompare(b.type));
}

export function removeCondition(previous: readonly Condition[] | undefined, type: string): Condition[] {
  return (previous ?? []).filter((condition) => condition.type !== type);
}

/**
 * Structural equality of two statuses, key order ignored, and the order of the CRD's unordered
 * lists too (`conditions` is a map keyed by type, `managedConfigKeys` a set): server-side apply
 * merges those and may store them in another order than written, which must not count as a
 * change (else every pass writes the status again). The operator writes status only when this is false.
 */
export function statusEqual(a: TopicStatus | undefined, b: TopicStatus | undefined): boolean {
  return canonical(normalized(a)) === canonical(normalized(b));
}

function normalized(status: TopicStatus | undefined): TopicStatus {
  // An empty set and no set say the same; an API server may keep either.
  const { managedConfigKeys, ...rest } = status ?? {};
  const value: TopicStatus = managedConfigKeys === undefined || managedConfigKeys.length === 0 ? rest : { ...rest, managedConfigKeys };
  return {
    ...value,
    ...(value.conditions === undefined ? {} : { conditions: [...value.conditions].sort((x, y) => (x.type < y.type ? -1 : x.type > y.type ? 1 : 0)) }),
    ...(value.managedConfigKeys === undefined ? {} : { managedConfigKeys: [...value.managedConfigKeys].sort() }),
  };
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonical(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
