import { UsageError } from './errors';
import { parseAcks, parseAddress, parseByteSize, parseInteger, parseKeyValue, parseStartPosition, resolveGatewayAddress, unescape, unescapeSeparator } from './values';

describe('parseInteger', () => {
  it('accepts integers in range and names the option when rejecting', () => {
    expect(parseInteger('12', '--partitions', 1)).toBe(12);
    expect(() => parseInteger('0', '--partitions', 1)).toThrow('--partitions must be between 1 and 2147483647, not 0');
    expect(() => parseInteger('3x', '--partitions', 1)).toThrow(UsageError);
    expect(() => parseInteger('1.5', '--partitions', 1)).toThrow("--partitions must be an integer, not '1.5'");
  });
});

describe('parseByteSize', () => {
  it('reads plain bytes and binary or decimal units', () => {
    expect(parseByteSize('65536', '--batch-bytes', 1, 2 ** 30)).toBe(65536);
    expect(parseByteSize('64KiB', '--batch-bytes', 1, 2 ** 30)).toBe(65536);
    expect(parseByteSize('1MiB', '--batch-bytes', 1, 2 ** 30)).toBe(1048576);
    expect(parseByteSize('1MB', '--batch-bytes', 1, 2 ** 30)).toBe(1_000_000);
    expect(() => parseByteSize('1XB', '--batch-bytes', 1, 2 ** 30)).toThrow(UsageError);
    expect(() => parseByteSize('2MiB', '--batch-bytes', 1, 1024)).toThrow('between 1 and 1024 bytes');
  });
});

describe('parseKeyValue', () => {
  it('splits at the first = and keeps commas and = in the value', () => {
    expect(parseKeyValue('cleanup.policy=compact,delete', '--config')).toEqual({ key: 'cleanup.policy', value: 'compact,delete' });
    expect(parseKeyValue('a=b=c', '--config')).toEqual({ key: 'a', value: 'b=c' });
    expect(parseKeyValue('a=', '--config')).toEqual({ key: 'a', value: '' });
    expect(() => parseKeyValue('novalue', '--config')).toThrow('--config takes NAME=VALUE');
    expect(() => parseKeyValue('=x', '--config')).toThrow(UsageError);
  });
});

describe('gateway address', () => {
  it('prefers the flag, then the environment, then the default', () => {
    expect(resolveGatewayAddress('h:1', { STARLANE_GATEWAY: 'e:2' })).toBe('h:1');
    expect(resolveGatewayAddress(undefined, { STARLANE_GATEWAY: 'e:2' })).toBe('e:2');
    expect(resolveGatewayAddress(undefined, {})).toBe('127.0.0.1:9090');
  });

  it('accepts host:port and bracketed IPv6, and rejects the rest', () => {
    expect(parseAddress('[::1]:9090', '--gateway')).toBe('[::1]:9090');
    expect(() => parseAddress('localhost', '--gateway')).toThrow('--gateway must be HOST:PORT');
    expect(() => parseAddress('h:70000', '--gateway')).toThrow('invalid port');
    expect(() => resolveGatewayAddress(undefined, { STARLANE_GATEWAY: 'nope' })).toThrow('STARLANE_GATEWAY must be HOST:PORT');
  });
});

describe('parseAcks', () => {
  it('takes names and Kafka numbers', () => {
    expect(['all', '-1', 'ALL'].map(parseAcks)).toEqual(['all', 'all', 'all']);
    expect(['leader', '1'].map(parseAcks)).toEqual(['leader', 'leader']);
    expect(['none', '0'].map(parseAcks)).toEqual(['none', 'none']);
    expect(() => parseAcks('2')).toThrow(UsageError);
  });
});

describe('parseStartPosition', () => {
  it('reads boundaries, offsets and timestamps', () => {
    expect(parseStartPosition('earliest')).toEqual({ kind: 'earliest' });
    expect(parseStartPosition('beginning')).toEqual({ kind: 'earliest' });
    expect(parseStartPosition('latest')).toEqual({ kind: 'latest' });
    expect(parseStartPosition('end')).toEqual({ kind: 'latest' });
    expect(parseStartPosition('42')).toEqual({ kind: 'offset', offset: 42n });
    expect(parseStartPosition('9223372036854775807')).toEqual({ kind: 'offset', offset: 9223372036854775807n });
    expect(parseStartPosition('@1700000000000')).toEqual({ kind: 'timestamp', timestampMs: 1700000000000n });
  });

  it('reads ISO-8601 dates (a date alone is midnight UTC)', () => {
    expect(parseStartPosition('2024-05-01')).toEqual({ kind: 'timestamp', timestampMs: BigInt(Date.UTC(2024, 4, 1)) });
    expect(parseStartPosition('2024-05-01T12:30:00Z')).toEqual({ kind: 'timestamp', timestampMs: BigInt(Date.UTC(2024, 4, 1, 12, 30)) });
    expect(parseStartPosition('2024-05-01T12:30:00.250+02:00')).toEqual({ kind: 'timestamp', timestampMs: BigInt(Date.UTC(2024, 4, 1, 10, 30, 0, 250)) });
  });

  it('rejects anything else', () => {
    for (const text of ['-1', '@', '@12x', 'yesterday', '2024-13-45', '9223372036854775808']) {
      expect(() => parseStartPosition(text)).toThrow(UsageError);
    }
  });
});

describe('escapes', () => {
  it('turns \\t, \\n, \\r, \\0 and \\\\ into their characters and leaves others alone', () => {
    expect(unescape('a\\tb\\nc\\rd\\0e\\\\f\\x')).toBe('a\tb\nc\rd\0e\\f\\x');
    expect(unescapeSeparator('\\t', '--key-separator')).toEqual(Buffer.from('\t'));
    expect(() => unescapeSeparator('', '--key-separator')).toThrow('--key-separator must not be empty');
  });
});
