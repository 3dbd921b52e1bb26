/**
 * How `starlane consume` prints a record: `value` (the value and a newline), `json` (one object
 * per line) or a kcat-style format string. Formatting is pure: a record in, bytes out.
 */
import { isUtf8 } from 'node:buffer';
import { UsageError } from './errors';
import { toJson, type JsonValue } from './json';
import { unescape } from './values';

export interface ConsumedHeader {
  readonly key: string;
  /** null when the header has no value (not the same as an empty value). */
  readonly value: Buffer | null;
}

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly timestampMs: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly ConsumedHeader[];
}

/** Turns one record into the bytes printed for it (including any line end). */
export type RecordFormatter = (record: ConsumedRecord) => Buffer;

const newline = Buffer.from('\n');
const empty = Buffer.alloc(0);

/** `value`, `json`, or a format string with at least one `%` directive. */
export function compileFormat(format: string): RecordFormatter {
  if (format === 'value') return (record) => (record.value === null ? newline : Buffer.concat([record.value, newline]));
  if (format === 'json') return (record) => Buffer.from(`${toJson(recordJson(record))}\n`, 'utf8');
  if (!format.includes('%')) {
    throw new UsageError(`--format must be value, json or a format string with % directives (e.g. '%k %s\\n'), not '${format}'`, 'consume');
  }
  return compileTemplate(format);
}

/**
 * Bytes in JSON: a UTF-8 string when the bytes are valid UTF-8, else base64 with a sibling
 * `<field>Encoding: "base64"` so a reader can tell the two apart. Null stays null.
 */
function bytesField(name: string, bytes: Buffer | null): Record<string, JsonValue> {
  if (bytes === null) return { [name]: null };
  if (isUtf8(bytes)) return { [name]: bytes.toString('utf8') };
  return { [name]: bytes.toString('base64'), [`${name}Encoding`]: 'base64' };
}

export function recordJson(record: ConsumedRecord): JsonValue {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestampMs,
    ...bytesField('key', record.key),
    ...bytesField('value', record.value),
    headers: record.headers.map((header) => ({ key: header.key, ...bytesField('value', header.value) })),
  };
}

type Part = Buffer | ((record: ConsumedRecord) => Buffer);

const directives: Readonly<Record<string, (record: ConsumedRecord) => Buffer>> = {
  t: (record) => Buffer.from(record.topic, 'utf8'),
  p: (record) => Buffer.from(String(record.partition)),
  o: (record) => Buffer.from(record.offset.toString()),
  T: (record) => Buffer.from(record.timestampMs.toString()),
  k: (record) => record.key ?? empty,
  K: (record) => Buffer.from(String(record.key === null ? -1 : record.key.length)),
  s: (record) => record.value ?? empty,
  v: (record) => record.value ?? empty,
  S: (record) => Buffer.from(String(record.value === null ? -1 : record.value.length)),
  h: (record) => Buffer.concat(record.headers.flatMap((header, index) => [index === 0 ? empty : comma, Buffer.from(header.key, 'utf8'), ...(header.value === null ? [] : [equals, header.value])])),
};
const comma = Buffer.from(',');
const equals = Buffer.from('=');

/**
 * kcat's format directives: %t topic, %p partition, %o offset, %T timestamp (ms), %k key,
 * %K key length, %s (or %v) value, %S value length, %h headers as `k=v,k2=v2`, %% a percent
 * sign; `\n`, `\r`, `\t`, `\0` and `\\` escapes. Nothing is appended: end the format with `\n`.
 * Null keys and values print as nothing and their lengths as -1, as in kcat.
 */
export function compileTemplate(format: string): RecordFormatter {
  const parts: Part[] = [];
  let literal = '';
  for (let index = 0; index < format.length; index += 1) {
    const char = format[index]!;
    if (char !== '%') {
      literal += char;
      continue;
    }
    const directive = format[index + 1];
    index += 1;
    if (directive === '%') {
      literal += '%';
      continue;
    }
    const field = directive === undefined ? undefined : directives[directive];
    if (field === undefined) throw new UsageError(`--format: unknown directive '%${directive ?? ''}' (known: %t %p %o %T %k %K %s %v %S %h %%)`, 'consume');
    if (literal !== '') parts.push(Buffer.from(unescape(literal), 'utf8'));
    literal = '';
    parts.push(field);
  }
  if (literal !== '') parts.push(Buffer.from(unescape(literal), 'utf8'));
  return (record) => Buffer.concat(parts.map((part) => (Buffer.isBuffer(part) ? part : part(record))));
}
