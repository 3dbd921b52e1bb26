import { partitionForKey } from '@starlane/partitioner';
import { batchHeaderBytes, buildBatch } from '@starlane/record-batch';
import { RequestBuilder, recordBytes, recordOverheadBytes } from './partitioner';
import type { ProducedRecord } from './line-format';

function rec(key: string | null, value = 'v'): ProducedRecord {
  return { key: key === null ? null : Buffer.from(key), value: Buffer.from(value), headers: [] };
}

describe('RequestBuilder', () => {
  const roomy = { requestRecordsMax: 1000, requestBytesMax: 1 << 20 };

  it('puts keyed records on their murmur2 partition, keeping line order within each', () => {
    const builder = new RequestBuilder({ kind: 'hashed', partitionCount: 4 }, roomy);
    const keys = ['a', 'b', 'c', 'a', 'd', 'b'];
    keys.forEach((key, index) => builder.add(rec(key, String(index))));
    const entries = builder.take();
    for (const entry of entries) {
      for (const record of entry.records) expect(partitionForKey(record.key!, 4)).toBe(entry.partition);
    }
    expect(entries.reduce((sum, entry) => sum + entry.records.length, 0)).toBe(keys.length);
    const a = entries.find((entry) => entry.partition === partitionForKey(Buffer.from('a'), 4))!;
    const aValues = a.records.filter((record) => record.key!.toString() === 'a').map((record) => record.value!.toString());
    expect(aValues).toEqual(['0', '3']);
    expect(new Set(entries.map((entry) => entry.partition)).size).toBe(entries.length);
  });

  it('sends null-key records of one request to one partition, moving on with each request', () => {
    const builder = new RequestBuilder({ kind: 'hashed', partitionCount: 3 }, roomy, 1);
    const partitions: number[] = [];
    for (let request = 0; request < 4; request += 1) {
      builder.add(rec(null));
      builder.add(rec(null));
      const entries = builder.take();
      expect(entries).toHaveLength(1);
      expect(entries[0]!.records).toHaveLength(2);
      partitions.push(entries[0]!.partition);
    }
    expect(partitions).toEqual([1, 2, 0, 1]);
  });

  it('groups by key with partition -1 when the gateway places records', () => {
    const builder = new RequestBuilder({ kind: 'gateway' }, roomy);
    for (const key of ['x', null, 'y', 'x', null]) builder.add(rec(key));
    const entries = builder.take();
    expect(entries.map((entry) => [entry.partition, entry.records.map((record) => record.key?.toString() ?? null)])).toEqual([
      [-1, ['x', 'x']],
      [-1, [null, null]],
      [-1, ['y']],
    ]);
  });

  it('keeps distinct binary keys apart when grouping', () => {
    const builder = new RequestBuilder({ kind: 'gateway' }, roomy);
    builder.add({ key: Buffer.from([0xc3, 0xa9]), value: null, headers: [] });
    builder.add({ key: Buffer.from([0xc3, 0xa8]), value: null, headers: [] });
    expect(builder.take()).toHaveLength(2);
  });

  it('writes every record to the fixed partition', () => {
    const builder = new RequestBuilder({ kind: 'fixed', partition: 5 }, roomy);
    builder.add(rec('a'));
    builder.add(rec(null));
    expect(builder.take()).toEqual([{ partition: 5, records: [rec('a'), rec(null)] }]);
  });

  it('is full at the record bound or the byte bound, and empty after take', () => {
    const byCount = new RequestBuilder({ kind: 'fixed', partition: 0 }, { requestRecordsMax: 2, requestBytesMax: 1 << 20 });
    byCount.add(rec('a'));
    expect(byCount.full).toBe(false);
    byCount.add(rec('a'));
    expect(byCount.full).toBe(true);
    expect(byCount.payloadBytes).toBe(4);
    byCount.take();
    expect([byCount.full, byCount.records, byCount.bytes, byCount.payloadBytes]).toEqual([false, 0, 0, 0]);

    const record = rec('key', 'x'.repeat(100));
    // Lengths as zigzag varints: 3 takes one byte, 100 two; then one byte for no headers.
    expect(recordBytes(record)).toBe(recordOverheadBytes + (1 + 3) + (2 + 100) + 1);
    const byBytes = new RequestBuilder({ kind: 'fixed', partition: 0 }, { requestRecordsMax: 1000, requestBytesMax: 2 * recordBytes(record) });
    byBytes.add(record);
    expect(byBytes.full).toBe(false);
    byBytes.add(record);
    expect(byBytes.full).toBe(true);
  });

  it('counts header bytes toward the request size', () => {
    const withHeaders: ProducedRecord = { key: null, value: Buffer.from('v'), headers: [{ key: 'hk', value: Buffer.from('hv') }, { key: 'n', value: null }] };
    expect(recordBytes(withHeaders)).toBe(recordOverheadBytes + 1 + (1 + 1) + 1 + (1 + 2) + (1 + 2) + (1 + 1) + 1);
  });

  it('never counts a record smaller than it is in a batch, so requests under a bound make batches under it', async () => {
    const records: ProducedRecord[] = [
      rec(null, ''),
      rec('k', 'x'.repeat(200)),
      { key: Buffer.alloc(20_000, 1), value: Buffer.alloc(70_000, 2), headers: [{ key: 'é'.repeat(70), value: Buffer.alloc(130) }, { key: '', value: null }] },
    ];
    // Timestamps as far apart as a producer might set them, offsets as far as a request may go.
    const timestamps = [0n, 1_700_000_000_000n, 4_000_000_000_000n];
    const batch = await buildBatch(records.map((record, index) => ({ key: record.key, value: record.value, headers: record.headers.map((header) => ({ key: header.key, value: header.value })), timestamp: timestamps[index]! })));
    expect(batch.length).toBeLessThanOrEqual(batchHeaderBytes + records.reduce((sum, record) => sum + recordBytes(record), 0));
  });

  it('takes a record only while it fits under the byte bound, and any record into an empty request', () => {
    const record = rec('key', 'x'.repeat(100));
    const builder = new RequestBuilder({ kind: 'fixed', partition: 0 }, { requestRecordsMax: 1000, requestBytesMax: 2 * recordBytes(record) + 10 });
    expect(builder.fits(record)).toBe(true);
    builder.add(record);
    builder.add(record);
    expect(builder.full).toBe(false);
    expect(builder.fits(record)).toBe(false);
    builder.take();
    const huge = rec('key', 'x'.repeat(10_000));
    expect(builder.fits(huge)).toBe(true);
  });
});
