import { applyConfiguration } from './apply';
import { type Manager, decodeFields, decodeManagers, encodeFields, encodeManagers, leavesOf, recordUpdate, trackingSchema } from './managed-fields';
import type { JsonSchema } from './schema';
import type { KubeObject } from './store';
import { KubeStatusError } from './status';

const schema: JsonSchema = trackingSchema({
  type: 'object',
  properties: {
    spec: { type: 'object', properties: { partitions: { type: 'integer' }, config: { type: 'object', additionalProperties: { type: 'string' } }, brokers: { type: 'array', items: { type: 'string' } } } },
    status: {
      type: 'object',
      properties: {
        conditions: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: { type: 'object', properties: { type: { type: 'string' }, status: { type: 'string' } } } },
      },
    },
  },
});
const ctx = (manager: string, force = false) => ({ manager, force, apiVersion: 'starlane.dev/v1alpha1', time: '2026-01-01T00:00:00Z', schema, scope: 'all' as const });
const topic = (spec: KubeObject, extra: KubeObject = {}): KubeObject => ({ apiVersion: 'starlane.dev/v1alpha1', kind: 'Topic', metadata: { name: 'demo', namespace: 'default' }, spec, ...extra });
const owned = (managers: readonly Manager[]) => Object.fromEntries(encodeManagers(managers).map((e) => [`${e.manager}/${e.operation}`, e.fieldsV1]));

describe('managed fields', () => {
  it('encodes a set in the FieldsV1 form, with `.` for a map owned as a whole, and decodes it back', () => {
    const fields = { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { '.': {}, 'f:partitions': {} } };
    const set = decodeFields(fields);
    expect(encodeFields(set)).toEqual(fields);
    expect(set.size).toBe(4);
  });

  it('walks keyed lists by their keys, set lists by value, and keeps other lists atomic', () => {
    const leaves = [...leavesOf({ spec: { brokers: ['a', 'b'] }, status: { conditions: [{ type: 'Ready', status: 'True' }] }, metadata: { finalizers: ['x'] } }, schema)];
    expect(leaves.map((k) => k.split('\u0000').join(' '))).toEqual([
      'f:spec f:brokers',
      'f:status f:conditions k:{"type":"Ready"} f:type',
      'f:status f:conditions k:{"type":"Ready"} f:status',
      'f:metadata f:finalizers v:"x"',
    ]);
  });

  it('an update takes the fields it changes from everyone, and owns the maps it creates', () => {
    const managers = decodeManagers([{ manager: 'a', operation: 'Apply', apiVersion: 'v', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:partitions': {} } } }]);
    recordUpdate(managers, topic({ partitions: 1 }), topic({ partitions: 2, config: { x: '1' } }), { manager: 'b', apiVersion: 'v', time: 't', schema, scope: 'all' });
    expect(owned(managers)).toEqual({ 'b/Update': { 'f:spec': { 'f:config': { '.': {}, 'f:x': {} }, 'f:partitions': {} } } });
  });
});

describe('applyConfiguration', () => {
  it('creates from nothing and owns exactly the configured leaves', () => {
    const { object, managers } = applyConfiguration([], undefined, topic({ partitions: 3, config: { a: '1' } }), ctx('kubectl'));
    expect(object.spec).toEqual({ partitions: 3, config: { a: '1' } });
    expect(owned(managers)).toEqual({ 'kubectl/Apply': { 'f:spec': { 'f:config': { 'f:a': {} }, 'f:partitions': {} } } });
  });

  it('a changed value another manager owns is a conflict with the real message; force takes it over', () => {
    const first = applyConfiguration([], undefined, topic({ partitions: 3 }), ctx('kubectl'));
    let error: unknown;
    try {
      applyConfiguration(first.managers, first.object, topic({ partitions: 5 }), ctx('other'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KubeStatusError);
    expect((error as KubeStatusError).toStatus()).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message: 'Apply failed with 1 conflict: conflict with "kubectl": .spec.partitions',
      details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl"', field: '.spec.partitions' }] },
    });
    const forced = applyConfiguration(first.managers, first.object, topic({ partitions: 5 }), ctx('other', true));
    expect(forced.object.spec.partitions).toBe(5);
    expect(owned(forced.managers)).toEqual({ 'other/Apply': { 'f:spec': { 'f:partitions': {} } } });
  });

  it('names Update managers with their version and time, and lists several conflicts by manager', () => {
    const managers = decodeManagers([
      { manager: 'edit', operation: 'Update', apiVersion: 'starlane.dev/v1alpha1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:partitions': {}, 'f:config': { 'f:a': {} } } } },
    ]);
    expect(() => applyConfiguration(managers, topic({ partitions: 1, config: { a: '1' } }), topic({ partitions: 2, config: { a: '2' } }), ctx('kubectl'))).toThrow(
      'Apply failed with 2 conflicts: conflict with "edit" using starlane.dev/v1alpha1 at 2026-01-01T00:00:00Z:\n- .spec.partitions\n- .spec.config.a',
    );
  });

  it('shares a field whose value it does not change, with no conflict', () => {
    const first = applyConfiguration([], undefined, topic({ partitions: 3 }), ctx('kubectl'));
    const second = applyConfiguration(first.managers, first.object, topic({ partitions: 3 }), ctx('other'));
    expect(Object.keys(owned(second.managers))).toEqual(['kubectl/Apply', 'other/Apply']);
  });

  it('removes a field the applier dropped unless another manager still owns it', () => {
    const first = applyConfiguration([], undefined, topic({ partitions: 3, config: { a: '1', b: '2' } }), ctx('kubectl'));
    const shared = applyConfiguration(first.managers, first.object, topic({ config: { b: '2' } }), ctx('other'));
    const dropped = applyConfiguration(shared.managers, shared.object, topic({ partitions: 3 }), ctx('kubectl'));
    expect(dropped.object.spec).toEqual({ partitions: 3, config: { b: '2' } });
    const all = applyConfiguration(dropped.managers, dropped.object, topic({ partitions: 3 }), ctx('other'));
    expect(all.object.spec).toEqual({ partitions: 3 });
  });

  it('merges keyed list elements by key: each manager keeps its own condition', () => {
    const a = applyConfiguration([], topic({}), topic({}, { status: { conditions: [{ type: 'Ready', status: 'True' }] } }), ctx('operator'));
    const b = applyConfiguration(a.managers, a.object, topic({}, { status: { conditions: [{ type: 'Paused', status: 'False' }] } }), ctx('other'));
    expect(b.object.status.conditions).toEqual([{ type: 'Ready', status: 'True' }, { type: 'Paused', status: 'False' }]);
    const gone = applyConfiguration(b.managers, b.object, topic({}, { status: {} }), ctx('operator'));
    expect(gone.object.status.conditions).toEqual([{ type: 'Paused', status: 'False' }]);
  });

  it('merges finalizers as a set: each manager adds and removes its own', () => {
    const bare = { apiVersion: 'starlane.dev/v1alpha1', kind: 'Topic', metadata: { name: 'demo', namespace: 'default' } };
    const withFinalizers = (f: string[]): KubeObject => ({ ...bare, metadata: { ...bare.metadata, finalizers: f } });
    const a = applyConfiguration([], bare, withFinalizers(['a.example/x']), ctx('a'));
    const b = applyConfiguration(a.managers, a.object, withFinalizers(['b.example/y']), ctx('b'));
    expect(b.object.metadata.finalizers).toEqual(['a.example/x', 'b.example/y']);
    const dropped = applyConfiguration(b.managers, b.object, bare, ctx('a'));
    expect(dropped.object.metadata.finalizers).toEqual(['b.example/y']);
    expect(owned(dropped.managers)).toEqual({ 'b/Apply': { 'f:metadata': { 'f:finalizers': { 'v:"b.example/y"': {} } } } });
  });

  it('a force-applied field leaves the other manager, and its later omission by that manager removes nothing', () => {
    const a = applyConfiguration([], undefined, topic({ partitions: 1, config: { x: '1' } }), ctx('a'));
    const b = applyConfiguration(a.managers, a.object, topic({ partitions: 2 }), ctx('b', true));
    const aAgain = applyConfiguration(b.managers, b.object, topic({ config: { x: '1' } }), ctx('a'));
    expect(aAgain.object.spec).toEqual({ partitions: 2, config: { x: '1' } });
  });

  it('replaces an atomic list whole', () => {
    const a = applyConfiguration([], undefined, topic({ brokers: ['a', 'b'] }), ctx('kubectl'));
    const b = applyConfiguration(a.managers, a.object, topic({ brokers: ['c'] }), ctx('kubectl'));
    expect(b.object.spec.brokers).toEqual(['c']);
  });
});
