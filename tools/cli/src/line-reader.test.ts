import { Readable } from 'node:stream';
import { UsageError } from './errors';
import { LineSplitter, readLineGroups } from './line-reader';

const text = (lines: Buffer[]): string[] => lines.map((line) => line.toString('latin1'));

describe('LineSplitter', () => {
  it('splits on \\n, keeps \\r, and joins lines that span chunks', () => {
    const splitter = new LineSplitter(100);
    expect(text(splitter.push(Buffer.from('a\nb\r\nc')))).toEqual(['a', 'b\r']);
    expect(text(splitter.push(Buffer.from('on')))).toEqual([]);
    expect(text(splitter.push(Buffer.from('t\n\nd')))).toEqual(['cont', '']);
    expect(text(splitter.end())).toEqual(['d']);
    expect(splitter.end()).toEqual([]);
  });

  it('keeps lines valid after later chunks arrive', () => {
    const splitter = new LineSplitter(100);
    const first = splitter.push(Buffer.from('one\ntw'));
    const second = splitter.push(Buffer.from('o\n'));
    expect(text([...first, ...second])).toEqual(['one', 'two']);
  });

  it('passes binary bytes through', () => {
    const splitter = new LineSplitter(100);
    expect(splitter.push(Buffer.from([0xff, 0x00, 0x0a]))).toEqual([Buffer.from([0xff, 0x00])]);
  });

  it('rejects a line longer than the bound, within a chunk or across chunks, naming its number', () => {
    const inChunk = new LineSplitter(3);
    expect(() => inChunk.push(Buffer.from('abc\nabcd\n'))).toThrow('line 2 is longer than 3 bytes');
    const across = new LineSplitter(3);
    across.push(Buffer.from('ab'));
    expect(() => across.push(Buffer.from('cd'))).toThrow(UsageError);
    const exact = new LineSplitter(3);
    expect(text(exact.push(Buffer.from('abc\n')))).toEqual(['abc']);
  });
});

describe('readLineGroups', () => {
  it('yields the lines of a stream chunk by chunk, the last one without a newline too', async () => {
    const groups: string[][] = [];
    for await (const group of readLineGroups(Readable.from([Buffer.from('a\nb'), Buffer.from('c\nd')]), 100)) groups.push(text(group));
    expect(groups).toEqual([['a'], ['bc'], ['d']]);
  });
});
