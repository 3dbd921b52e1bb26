import { partitionForKey } from '@starlane/partitioner';
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
    expect(recordBytes(record)).toBe(recordOverheadBytes + 3 + 100);
    const byBytes = new RequestBuilder({ kind: 'fixed', partition: 0 }, { requestRecordsMax: 1000, requestBytesMax: 2 * recordBytes(record) });
    byBytes.add(record);
    expect(byBytes.full).toBe(false);
    byBytes.add(record);
    expect(byBytes.full).toBe(true);
  });

  it('counts header bytes toward the request size', () => {
    const withHeaders: ProducedRecord = { key: null, value: Buffer.from('v'), headers: [{ key: 'hk', value: Buffer.from('hv') }, { key: 'n', value: null }] };
    expect(recordBytes(withHeaders)).toBe(recordOverheadBytes + 1 + (2 + 2 + 4) + (1 + 4));
  });
});
