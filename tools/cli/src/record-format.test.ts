import { UsageError } from './errors';
import { compileFormat, type ConsumedRecord } from './record-format';

const record: ConsumedRecord = {
  topic: 'orders',
  partition: 2,
  offset: 9007199254740993n,
  timestampMs: 1700000000123n,
  key: Buffer.from('k1'),
  value: Buffer.from('hello'),
  headers: [
    { key: 'a', value: Buffer.from('1') },
    { key: 'b', value: null },
  ],
};
const binary = Buffer.from([0xff, 0x00, 0xfe]);

function text(format: string, input: ConsumedRecord = record): string {
  return compileFormat(format)(input).toString('latin1');
}

describe('value format', () => {
  it('prints the value and a newline, and an empty line for a null value', () => {
    expect(text('value')).toBe('hello\n');
    expect(text('value', { ...record, value: null })).toBe('\n');
    expect(compileFormat('value')({ ...record, value: binary })).toEqual(Buffer.concat([binary, Buffer.from('\n')]));
  });
});

describe('json format', () => {
  it('prints one object per line with int64 values exact', () => {
    const line = text('json');
    expect(line.endsWith('\n')).toBe(true);
    expect(line).toBe(
      '{"topic":"orders","partition":2,"offset":9007199254740993,"timestamp":1700000000123,"key":"k1","value":"hello","headers":[{"key":"a","value":"1"},{"key":"b","value":null}]}\n',
    );
  });

  it('writes bytes that are not UTF-8 as base64 and says so', () => {
    const parsed = JSON.parse(text('json', { ...record, key: null, value: binary, headers: [{ key: 'h', value: binary }] })) as Record<string, unknown>;
    expect(parsed.key).toBeNull();
    expect(parsed.keyEncoding).toBeUndefined();
    expect(parsed.value).toBe(binary.toString('base64'));
    expect(parsed.valueEncoding).toBe('base64');
    expect(parsed.headers).toEqual([{ key: 'h', value: binary.toString('base64'), valueEncoding: 'base64' }]);
  });

  it('keeps UTF-8 text as text, including multi-byte characters', () => {
    const parsed = JSON.parse(compileFormat('json')({ ...record, value: Buffer.from('héllo ✓\n"q"') }).toString('utf8')) as Record<string, unknown>;
    expect(parsed.value).toBe('héllo ✓\n"q"');
  });
});

describe('format strings', () => {
  it('expands every directive and escape', () => {
    expect(text('%t/%p@%o %T %k(%K)=%s|%v(%S) [%h] 100%%\\n')).toBe('orders/2@9007199254740993 1700000000123 k1(2)=hello|hello(5) [a=1,b] 100%\n');
    expect(text('%k\\t%s\\r\\n')).toBe('k1\thello\r\n');
  });

  it('prints null keys and values as nothing and their lengths as -1', () => {
    expect(text('[%k][%K][%s][%S][%h]\\n', { ...record, key: null, value: null, headers: [] })).toBe('[][-1][][-1][]\n');
  });

  it('passes value bytes through untouched', () => {
    expect(compileFormat('%s')({ ...record, value: binary })).toEqual(binary);
  });

  it('rejects unknown directives and strings without any directive', () => {
    expect(() => compileFormat('%x')).toThrow("unknown directive '%x'");
    expect(() => compileFormat('abc%')).toThrow(UsageError);
    expect(() => compileFormat('csv')).toThrow('--format must be value, json or a format string');
  });
});
