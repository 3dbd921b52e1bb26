import { mergePatch, jsonPatch } from './patch';
import { parseFieldSelector, parseLabelSelector } from './selectors';
import type { KubeStatusError } from './status';

describe('label and field selectors', () => {
  it('supports equality, inequality, set and existence terms joined by commas', () => {
    const s = parseLabelSelector('tier in (a, b),env!=prod,owner,!legacy');
    expect(s({ tier: 'a', env: 'dev', owner: 'x' })).toBe(true);
    expect(s({ tier: 'c', env: 'dev', owner: 'x' })).toBe(false);
    expect(s({ tier: 'b', env: 'prod', owner: 'x' })).toBe(false);
    expect(s({ tier: 'b', owner: 'x', legacy: '' })).toBe(false);
    expect(parseLabelSelector('app notin (x)')({})).toBe(true);
    expect(parseLabelSelector('')({})).toBe(true);
  });

  it('filters on metadata.name and metadata.namespace and refuses other fields with 400', () => {
    const f = parseFieldSelector('metadata.name=a,metadata.namespace!=kube-system');
    expect(f('a', 'default')).toBe(true);
    expect(f('a', 'kube-system')).toBe(false);
    expect(() => parseFieldSelector('status.phase=Running')).toThrow(expect.objectContaining({ code: 400, message: 'field label not supported: status.phase' }) as KubeStatusError);
  });
});

describe('patches', () => {
  it('merge patch replaces lists whole and removes keys set to null (RFC 7386)', () => {
    expect(mergePatch({ a: [1, 2], b: { c: 1, d: 2 } }, { a: [3], b: { c: null } })).toEqual({ a: [3], b: { d: 2 } });
  });

  it('JSON patch supports move and copy, escapes ~1 and ~0, and leaves the input untouched', () => {
    const input = { metadata: { annotations: { 'a/b': 'x' } }, list: [1] };
    const out = jsonPatch(input, [
      { op: 'copy', from: '/metadata/annotations/a~1b', path: '/copied' },
      { op: 'move', from: '/list/0', path: '/moved' },
      { op: 'add', path: '/list/-', value: 9 },
    ]);
    expect(out).toEqual({ metadata: { annotations: { 'a/b': 'x' } }, list: [9], copied: 'x', moved: 1 });
    expect(input.list).toEqual([1]);
    expect(() => jsonPatch(input, [{ op: 'remove', path: '/missing/x' }])).toThrow(expect.objectContaining({ code: 422 }) as KubeStatusError);
  });
});
