/**
 * Splits standard input into lines, as bytes (no decoding, so binary values survive), without
 * unbounded buffering: a line is held whole only up to `lineBytesMax`, and input is read one
 * chunk at a time, only as fast as the consumer asks for the next chunk of lines.
 */
import type { Readable } from 'node:stream';
import { UsageError } from './errors';

const lineFeed = 0x0a;

/** Pure splitter: push chunks in, take complete lines out. */
export class LineSplitter {
  /** Pieces of the line not yet ended by a newline, and their total size. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Lines completed so far, for error messages. */
  private linesSeen = 0;

  constructor(readonly lineBytesMax: number) {}

  /**
   * The lines this chunk completes, without their `\n` (a `\r` before it is kept: values are
   * bytes). Lines lie in the chunk where possible (no copy); they stay valid after later pushes.
   */
  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    for (let end = chunk.indexOf(lineFeed, start); end !== -1; end = chunk.indexOf(lineFeed, start)) {
      this.checkLength(this.partialBytes + (end - start));
      if (this.partial.length === 0) {
        lines.push(chunk.subarray(start, end));
      } else {
        this.partial.push(chunk.subarray(start, end));
        lines.push(Buffer.concat(this.partial, this.partialBytes + (end - start)));
        this.partial = [];
        this.partialBytes = 0;
      }
      this.linesSeen += 1;
      start = end + 1;
    }
    if (start < chunk.length) {
      this.checkLength(this.partialBytes + (chunk.length - start));
      this.partial.push(chunk.subarray(start));
      this.partialBytes += chunk.length - start;
    }
    return lines;
  }

  /** At end of input: the last line if it had no newline. */
  end(): Buffer[] {
    if (this.partialBytes === 0) return [];
    const last = Buffer.concat(this.partial, this.partialBytes);
    this.partial = [];
    this.partialBytes = 0;
    this.linesSeen += 1;
    return [last];
  }

  private checkLength(bytes: number): void {
    if (bytes > this.lineBytesMax) {
      throw new UsageError(`line ${this.linesSeen + 1} is longer than ${this.lineBytesMax} bytes (raise --line-bytes-max)`, 'produce');
    }
  }
}

/**
 * Lines of a stream, a chunk's worth at a time (one await per chunk, not per line). The
 * stream is read only when the next group is requested, so a slow consumer holds back input.
 */
export async function* readLineGroups(input: Readable, lineBytesMax: number): AsyncGenerator<Buffer[], void, undefined> {
  const splitter = new LineSplitter(lineBytesMax);
  for await (const chunk of input) {
    const lines = splitter.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer));
    if (lines.length > 0) yield lines;
  }
  const last = splitter.end();
  if (last.length > 0) yield last;
}
