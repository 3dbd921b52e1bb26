/**
 * Parsing of option values: numbers, `k=v` pairs, addresses, acks levels, start positions and
 * separators with backslash escapes. Pure functions; a bad value is a UsageError naming the option.
 */
import { UsageError } from './errors';

/** Where `--gateway` points when neither the flag nor STARLANE_GATEWAY says. */
export const defaultGatewayAddress = '127.0.0.1:9090';
export const gatewayEnvName = 'STARLANE_GATEWAY';

const int32Max = 2 ** 31 - 1;

/** A decimal integer in [min, max]. */
export function parseInteger(text: string, option: string, min: number, max = int32Max): number {
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${option} must be an integer, not '${text}'`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${option} must be between ${min} and ${max}, not ${text}`);
  }
  return value;
}

/** A non-negative int64 (offsets), kept as bigint. */
export function parseOffset(text: string, option: string): bigint {
  if (!/^\d+$/.test(text)) throw new UsageError(`${option} must be a non-negative integer, not '${text}'`);
  const value = BigInt(text);
  if (value > 2n ** 63n - 1n) throw new UsageError(`${option} is out of range: ${text}`);
  return value;
}

const byteUnits: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, kib: 1024, kb: 1000, m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2 };

/** A byte count: `65536`, `64KiB`, `1MiB`, `1MB` (KiB/MiB binary, KB/MB decimal, k/m binary). */
export function parseByteSize(text: string, option: string, min: number, max: number): number {
  const match = /^(\d+)\s*([a-zA-Z]*)$/.exec(text);
  const unit = match ? byteUnits[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new UsageError(`${option} must be a size such as 65536, 64KiB or 1MiB, not '${text}'`);
  const value = Number(match[1]) * unit;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new UsageError(`${option} must be between ${min} and ${max} bytes, not ${text}`);
  return value;
}

/** `name=value`, split at the first `=`; the value may be empty and may contain `=` and commas. */
export function parseKeyValue(text: string, option: string): { key: string; value: string } {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`${option} takes NAME=VALUE, not '${text}'`);
  return { key: text.slice(0, at), value: text.slice(at + 1) };
}

/** Validates `host:port` (IPv6 hosts in brackets) and returns it unchanged. */
export function parseAddress(text: string, source: string): string {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):(\d+)$/.exec(text);
  if (!match) throw new UsageError(`${source} must be HOST:PORT, not '${text}'`);
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw new UsageError(`${source} has an invalid port: ${match[2]}`);
  return text;
}

/** The gateway address: the flag, else the environment, else the default. */
export function resolveGatewayAddress(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  if (flag !== undefined) return parseAddress(flag, '--gateway');
  const fromEnv = env[gatewayEnvName];
  if (fromEnv !== undefined && fromEnv !== '') return parseAddress(fromEnv, gatewayEnvName);
  return defaultGatewayAddress;
}

export type AcksLevel = 'all' | 'leader' | 'none';

/** `all`, `leader`, `none`, or Kafka's numbers `-1`, `1`, `0`. */
export function parseAcks(text: string): AcksLevel {
  switch (text.toLowerCase()) {
    case 'all':
    case '-1':
      return 'all';
    case 'leader':
    case '1':
      return 'leader';
    case 'none':
    case '0':
      return 'none';
    default:
      throw new UsageError(`--acks must be all, leader or none (or -1, 1, 0), not '${text}'`);
  }
}

export type StartPosition =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'offset'; readonly offset: bigint }
  | { readonly kind: 'timestamp'; readonly timestampMs: bigint };

/**
 * `--from`: `earliest` (or `beginning`), `latest` (or `end`), an offset (`42`), a timestamp in
 * ms since the epoch (`@1700000000000`), or an ISO-8601 date or date-time
 * (`2024-05-01`, `2024-05-01T12:00:00Z`). As JavaScript's Date parses them, a date alone is
 * midnight UTC and a date-time without a zone is local time.
 */
export function parseStartPosition(text: string): StartPosition {
  const lower = text.toLowerCase();
  if (lower === 'earliest' || lower === 'beginning') return { kind: 'earliest' };
  if (lower === 'latest' || lower === 'end') return { kind: 'latest' };
  if (/^\d+$/.test(text)) return { kind: 'offset', offset: parseOffset(text, '--from') };
  if (text.startsWith('@')) {
    if (!/^@\d+$/.test(text)) throw new UsageError(`--from @TIMESTAMP takes milliseconds since the epoch, not '${text}'`);
    return { kind: 'timestamp', timestampMs: BigInt(text.slice(1)) };
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw new UsageError(`--from: '${text}' is not a valid ISO-8601 date`);
    if (ms < 0) throw new UsageError(`--from: '${text}' is before 1970`);
    return { kind: 'timestamp', timestampMs: BigInt(ms) };
  }
  throw new UsageError(`--from must be earliest, latest, an offset, @TIMESTAMP_MS or an ISO-8601 date, not '${text}'`);
}

/**
 * Separators given on the command line, with `\t`, `\n`, `\r`, `\0` and `\\` escapes, so
 * `--key-separator '\t'` means a tab without shell quoting tricks.
 */
export function unescapeSeparator(text: string, option: string): Buffer {
  const value = unescape(text);
  if (value.length === 0) throw new UsageError(`${option} must not be empty`);
  return Buffer.from(value, 'utf8');
}

/** Replaces `\n`, `\r`, `\t`, `\0` and `\\`; any other backslash stays as written. */
export function unescape(text: string): string {
  return text.replace(/\\([nrt0\\])/g, (_match, char: string) => ({ n: '\n', r: '\r', t: '\t', '0': '\0', '\\': '\\' })[char] ?? char);
}
