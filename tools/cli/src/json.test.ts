import { toJson } from './json';
import { idList, renderTable } from './table';

describe('toJson', () => {
  it('writes bigint as exact numbers and skips undefined fields', () => {
    expect(toJson({ a: 9223372036854775807n, b: [1, 'x', null, true], c: undefined, d: { e: -1n } })).toBe('{"a":9223372036854775807,"b":[1,"x",null,true],"d":{"e":-1}}');
    expect(toJson('quote " and \n')).toBe(JSON.stringify('quote " and \n'));
    expect(toJson(Number.NaN)).toBe('null');
  });
});

describe('renderTable', () => {
  it('aligns columns with two spaces and leaves the last column unpadded', () => {
    expect(renderTable(['NAME', 'N', 'ID'], [['orders', '12', 'abc'], ['t', '1', '']])).toEqual(['NAME    N   ID', 'orders  12  abc', 't       1']);
    expect(idList([])).toBe('-');
    expect(idList([1, 2, 3])).toBe('1,2,3');
  });
});
