import fc from 'fast-check';
import { compressSync as rawSnappy } from 'snappy';
import { buildBatch, readBatch, rebuildBatch } from './batch';
import { BatchField, batchSize, countRecords, readBatchHeader, scanBatches, setBaseOffset, setPartitionLeaderEpoch, validateBatch } from './batch-header';
import { Compression, compress, decompress, decompressedBytesMax, isXerialSnappy } from './compression';
import type { NewRecord } from './records';

const compressions = [Compression.none, Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd];

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((array) => Buffer.from(array));
const recordArbitrary: fc.Arbitrary<NewRecord> = fc.record({
  key: fc.option(bytes(40), { nil: null }),
  value: fc.option(bytes(200), { nil: null }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 10 }), value: fc.option(bytes(20), { nil: null }) }), { maxLength: 3 }),
  timestamp: fc.bigInt({ min: 0n, max: 2n ** 45n }),
});

function record(value: string, timestamp = 1_700_000_000_000n): NewRecord {
  return { key: Buffer.from(`k-${value}`), value: Buffer.from(value), headers: [{ key: 'h', value: Buffer.from('v') }], timestamp };
}

describe('buildBatch / readBatch', () => {
  it.each(compressions)('round-trips random records with compression %i', async (compression) => {
    await fc.assert(
      fc.asyncProperty(fc.array(recordArbitrary, { minLength: 1, maxLength: 20 }), fc.bigInt({ min: 0n, max: 2n ** 62n }), async (records, baseOffset) => {
        const batch = await buildBatch(records, { compression, baseOffset, producerId: 7n, producerEpoch: 1, baseSequence: 3 });
        const decoded = await readBatch(batch);
        expect(decoded.header).toMatchObject({ baseOffset, compression, recordCount: records.length, lastOffsetDelta: records.length - 1, producerId: 7n, producerEpoch: 1, baseSequence: 3 });
        expect(decoded.records).toEqual(records.map((r, i) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offset: baseOffset + BigInt(i) })));
        const timestamps = records.map((r) => r.timestamp);
        expect(decoded.header.maxTimestamp).toBe(timestamps.reduce((a, b) => (b > a ? b : a)));
      }),
      { numRuns: 40 },
    );
  });

  it('refuses an empty batch', async () => {
    await expect(buildBatch([])).rejects.toMatchObject({ code: 'INVALID_RECORD' });
  });
});

describe('validateBatch', () => {
  it('accepts rewritten offsets and leader epochs without a new CRC', async () => {
    const batch = await buildBatch([record('a'), record('b')], { compression: Compression.lz4 });
    const crcBefore = readBatchHeader(batch).crc;
    setBaseOffset(batch, 123_456_789_012n);
    setPartitionLeaderEpoch(batch, 42);
    const header = validateBatch(batch);
    expect(header).toMatchObject({ baseOffset: 123_456_789_012n, partitionLeaderEpoch: 42, crc: crcBefore });
    expect((await readBatch(batch)).records.map((r) => r.offset)).toEqual([123_456_789_012n, 123_456_789_013n]);
  });

  it('detects every single flipped byte the CRC covers', async () => {
    const batch = await buildBatch([record('a'), record('b')]);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: BatchField.attributes, max: batch.length - 1 }), fc.integer({ min: 1, max: 255 }), async (position, flip) => {
        const copy = Buffer.from(batch);
        copy[position] = (copy[position] ?? 0) ^ flip;
        expect(() => validateBatch(copy)).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE' }));
      }),
    );
  });

  it.each([
    ['a wrong magic', (b: Buffer) => b.writeInt8(1, BatchField.magic), /magic 1 is not supported/],
    ['a batchLength that disagrees with the bytes', (b: Buffer) => b.writeInt32BE(b.readInt32BE(BatchField.batchLength) + 1, BatchField.batchLength), /batchLength says/],
    ['a tiny batchLength', (b: Buffer) => b.writeInt32BE(3, BatchField.batchLength), /below the header size/],
  ])('refuses %s', async (_what, damage, message) => {
    const batch = await buildBatch([record('a')]);
    damage(batch);
    expect(() => validateBatch(batch)).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE', message: expect.stringMatching(message) }));
  });

  it('refuses a header cut short', () => {
    expect(() => validateBatch(Buffer.alloc(20))).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE' }));
  });
});

describe('scanBatches', () => {
  it('splits concatenated batches into views and stops before a torn tail', async () => {
    const batches = await Promise.all([1, 2, 3].map((n) => buildBatch(Array.from({ length: n }, (_, i) => record(`${n}-${i}`)))));
    const whole = Buffer.concat(batches);
    const torn = whole.subarray(0, whole.length - 5);
    const scan = scanBatches(torn, { batchBytesMax: 1 << 20 });
    expect(scan.batches.map((b) => b.header.recordCount)).toEqual([1, 2]);
    expect(scan.end).toBe((batches[0]?.length ?? 0) + (batches[1]?.length ?? 0));
    expect(scan.batches[1]?.bytes.buffer).toBe(torn.buffer);
    expect(scanBatches(whole, { batchBytesMax: 1 << 20 }).end).toBe(whole.length);
  });

  it('stops at a batch larger than the bound', async () => {
    const batch = await buildBatch([record('x'.repeat(1000))]);
    expect(scanBatches(batch, { batchBytesMax: batchSize(readBatchHeader(batch)) - 1 })).toEqual({ batches: [], end: 0 });
  });

  it('returns no batches for garbage, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (garbage) => {
        const scan = scanBatches(Buffer.from(garbage), { batchBytesMax: 1 << 20 });
        for (const slice of scan.batches) expect(slice.bytes.length).toBe(batchSize(slice.header));
        expect(scan.end).toBeLessThanOrEqual(garbage.length);
      }),
    );
  });
});

describe('countRecords', () => {
  it('sums the record counts of whole batches and ignores a torn tail', async () => {
    const batches = await Promise.all([1, 2, 3].map((n) => buildBatch(Array.from({ length: n }, (_, i) => record(`${n}-${i}`)))));
    const whole = Buffer.concat(batches);
    expect(countRecords(whole)).toBe(6);
    expect(countRecords(whole.subarray(0, whole.length - 5))).toBe(3);
    expect(countRecords(Buffer.alloc(0))).toBe(0);
  });

  it('agrees with scanBatches on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (garbage) => {
        const bytes = Buffer.from(garbage);
        const scanned = scanBatches(bytes, { batchBytesMax: 1 << 30 }).batches.reduce((sum, slice) => sum + Math.max(0, slice.header.recordCount), 0);
        expect(countRecords(bytes)).toBe(scanned);
      }),
    );
  });
});

describe('compression', () => {
  it.each(compressions)('round-trips data with compression %i', async (compression) => {
    const data = Buffer.from('starlane '.repeat(20_000));
    expect(await decompress(compression, await compress(compression, data))).toEqual(data);
  });

  it('writes snappy in the xerial framing and reads raw snappy too', async () => {
    const data = Buffer.from('abc'.repeat(50_000));
    const framed = await compress(Compression.snappy, data);
    expect(isXerialSnappy(framed)).toBe(true);
    expect(await decompress(Compression.snappy, rawSnappy(data))).toEqual(data);
  });

  it.each(compressions.filter((c) => c !== Compression.none))('refuses garbage with compression %i as CORRUPT_MESSAGE', async (compression) => {
    await expect(decompress(compression, Buffer.from('definitely not compressed data'))).rejects.toMatchObject({ code: 'CORRUPT_MESSAGE' });
  });

  it('refuses a gzip bomb past the decompression bound', async () => {
    const bomb = await compress(Compression.gzip, Buffer.alloc(decompressedBytesMax + 1));
    await expect(decompress(Compression.gzip, bomb)).rejects.toMatchObject({ code: 'CORRUPT_MESSAGE' });
  });
});

describe('rebuildBatch', () => {
  it.each(compressions)('keeps offsets, the batch end and producer fields with compression %i', async (compression) => {
    const original = await buildBatch(Array.from({ length: 6 }, (_, i) => record(`r${i}`, 1000n + BigInt(i))), {
      compression,
      baseOffset: 100n,
      partitionLeaderEpoch: 4,
      producerId: 9n,
      producerEpoch: 2,
      baseSequence: 50,
    });
    const decoded = await readBatch(original);
    const kept = decoded.records.filter((_, i) => i === 1 || i === 4);
    const rebuilt = await readBatch(await rebuildBatch(decoded.header, kept));
    expect(rebuilt.records.map((r) => [r.offset, r.value?.toString(), r.timestamp])).toEqual([
      [101n, 'r1', 1001n],
      [104n, 'r4', 1004n],
    ]);
    expect(rebuilt.header).toMatchObject({ baseOffset: 100n, lastOffsetDelta: 5, recordCount: 2, partitionLeaderEpoch: 4, producerId: 9n, producerEpoch: 2, baseSequence: 50, compression, maxTimestamp: 1004n });
  });
});
