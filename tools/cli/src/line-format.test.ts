import { UsageError } from './errors';
import { parseFixedHeader, parseLine, type LineFormat } from './line-format';

const plain: LineFormat = { emptyLines: 'skip', fixedHeaders: [] };
const keyed: LineFormat = { ...plain, keySeparator: Buffer.from('\t') };
const withHeaders: LineFormat = { ...keyed, headers: { delimiter: Buffer.from('|'), separator: Buffer.from(','), keySeparator: Buffer.from(':') } };

function show(line: string, format: LineFormat): unknown {
  const record = parseLine(Buffer.from(line), format, 7);
  if (record === undefined) return undefined;
  return {
    key: record.key?.toString() ?? null,
    value: record.value?.toString() ?? null,
    headers: record.headers.map((header) => [header.key, header.value?.toString() ?? null]),
  };
}

describe('parseLine', () => {
  it('reads a plain line as the value, with no key', () => {
    expect(show('hello\tworld', plain)).toEqual({ key: null, value: 'hello\tworld', headers: [] });
  });

  it('splits key and value at the first separator; no separator means no key', () => {
    expect(show('k\tv\tw', keyed)).toEqual({ key: 'k', value: 'v\tw', headers: [] });
    expect(show('\tv', keyed)).toEqual({ key: '', value: 'v', headers: [] });
    expect(show('k\t', keyed)).toEqual({ key: 'k', value: '', headers: [] });
    expect(show('just a value', keyed)).toEqual({ key: null, value: 'just a value', headers: [] });
  });

  it('handles empty lines as configured', () => {
    expect(show('', plain)).toBeUndefined();
    expect(show('', { ...plain, emptyLines: 'empty' })).toEqual({ key: null, value: '', headers: [] });
    expect(show('', { ...plain, emptyLines: 'null' })).toEqual({ key: null, value: null, headers: [] });
  });

  it('turns marker values and keys into nulls', () => {
    const format: LineFormat = { ...keyed, nullValueMarker: Buffer.from('NULL'), nullKeyMarker: Buffer.from('-') };
    expect(show('k\tNULL', format)).toEqual({ key: 'k', value: null, headers: [] });
    expect(show('-\tv', format)).toEqual({ key: null, value: 'v', headers: [] });
    expect(show('k\tNULLX', format)).toEqual({ key: 'k', value: 'NULLX', headers: [] });
  });

  it('reads per-line headers after the fixed ones', () => {
    const format: LineFormat = { ...withHeaders, fixedHeaders: [{ key: 'src', value: Buffer.from('cli') }] };
    expect(show('a:1,b,c:x:y|k\tv', format)).toEqual({
      key: 'k',
      value: 'v',
      headers: [
        ['src', 'cli'],
        ['a', '1'],
        ['b', null],
        ['c', 'x:y'],
      ],
    });
    expect(show('|v', withHeaders)).toEqual({ key: null, value: 'v', headers: [] });
  });

  it('rejects a line without the headers delimiter, naming the line', () => {
    expect(() => parseLine(Buffer.from('k\tv'), withHeaders, 7)).toThrow('line 7: no headers delimiter');
  });

  it('rejects header keys that are not UTF-8', () => {
    const line = Buffer.concat([Buffer.from([0xff]), Buffer.from(':1|v')]);
    expect(() => parseLine(line, withHeaders, 3)).toThrow(UsageError);
  });
});

describe('parseFixedHeader', () => {
  it('splits at the first =, and a bare key has a null value', () => {
    expect(parseFixedHeader('a=b=c')).toEqual({ key: 'a', value: Buffer.from('b=c') });
    expect(parseFixedHeader('a=')).toEqual({ key: 'a', value: Buffer.alloc(0) });
    expect(parseFixedHeader('a')).toEqual({ key: 'a', value: null });
    expect(() => parseFixedHeader('=x')).toThrow(UsageError);
  });
});
