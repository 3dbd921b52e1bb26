/**
 * How `starlane produce` reads a record from one input line. The layout follows Kafka's
 * console producer (parse.key, parse.headers, null.marker):
 *
 *   [HEADERS<headers-delimiter>][KEY<key-separator>]VALUE
 *
 * where HEADERS is `k1:v1,k2:v2` (a header without `:` has a null value). Headers from `-H`
 * come first on every record, then the line's own.
 */
import { isUtf8 } from 'node:buffer';
import { UsageError } from './errors';

export interface ProducedHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export interface ProducedRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly ProducedHeader[];
}

export type EmptyLines = 'skip' | 'empty' | 'null';

export interface LineFormat {
  /** Splits the key from the value at its first occurrence; undefined: lines are values only. */
  readonly keySeparator?: Buffer;
  /** Set to read per-line headers before the key and value. */
  readonly headers?: { readonly delimiter: Buffer; readonly separator: Buffer; readonly keySeparator: Buffer };
  /** A value exactly equal to this is sent as null (a tombstone on compacted topics). */
  readonly nullValueMarker?: Buffer;
  /** A key exactly equal to this is sent as null. */
  readonly nullKeyMarker?: Buffer;
  /** What an empty line means: skipped (default), a record with an empty value, or a null value. */
  readonly emptyLines: EmptyLines;
  /** Headers added to every record (`-H key=value`). */
  readonly fixedHeaders: readonly ProducedHeader[];
}

/** The record for one line, or undefined when the line is skipped. `lineNumber` is for messages. */
export function parseLine(line: Buffer, format: LineFormat, lineNumber: number): ProducedRecord | undefined {
  if (line.length === 0) {
    if (format.emptyLines === 'skip') return undefined;
    return { key: null, value: format.emptyLines === 'null' ? null : line, headers: format.fixedHeaders };
  }
  let rest = line;
  let headers = format.fixedHeaders;
  if (format.headers !== undefined) {
    const at = rest.indexOf(format.headers.delimiter);
    if (at === -1) throw new UsageError(`line ${lineNumber}: no headers delimiter (--parse-headers expects HEADERS, the delimiter, then the record)`, 'produce');
    const own = parseHeaders(rest.subarray(0, at), format.headers.separator, format.headers.keySeparator, lineNumber);
    headers = own.length === 0 ? headers : [...headers, ...own];
    rest = rest.subarray(at + format.headers.delimiter.length);
  }
  let key: Buffer | null = null;
  if (format.keySeparator !== undefined) {
    const at = rest.indexOf(format.keySeparator);
    // A line without the separator has no key, as in kcat: the whole line is the value.
    if (at !== -1) {
      key = rest.subarray(0, at);
      rest = rest.subarray(at + format.keySeparator.length);
      if (format.nullKeyMarker !== undefined && key.equals(format.nullKeyMarker)) key = null;
    }
  }
  const value = format.nullValueMarker !== undefined && rest.equals(format.nullValueMarker) ? null : rest;
  return { key, value, headers };
}

function parseHeaders(text: Buffer, separator: Buffer, keySeparator: Buffer, lineNumber: number): ProducedHeader[] {
  const headers: ProducedHeader[] = [];
  let start = 0;
  while (start < text.length) {
    const found = text.indexOf(separator, start);
    const end = found === -1 ? text.length : found;
    const entry = text.subarray(start, end);
    if (entry.length > 0) {
      const at = entry.indexOf(keySeparator);
      const key = at === -1 ? entry : entry.subarray(0, at);
      if (!isUtf8(key)) throw new UsageError(`line ${lineNumber}: a header key is not valid UTF-8`, 'produce');
      headers.push({ key: key.toString('utf8'), value: at === -1 ? null : entry.subarray(at + keySeparator.length) });
    }
    start = end + separator.length;
  }
  return headers;
}

/** `-H key=value` (split at the first `=`; `-H key` alone gives a null value). */
export function parseFixedHeader(text: string): ProducedHeader {
  const at = text.indexOf('=');
  if (at === 0 || text === '') throw new UsageError(`-H takes KEY=VALUE, not '${text}'`, 'produce');
  if (at === -1) return { key: text, value: null };
  return { key: text.slice(0, at), value: Buffer.from(text.slice(at + 1), 'utf8') };
}
