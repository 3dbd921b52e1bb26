import { v1 } from '@starlane/proto';
import { encodeProduceFrame } from './e2e-suite';

describe('the e2e bench produce encoder', () => {
  it('encodes what the generated decoder reads back, for small and large ids and batches', () => {
    for (const [topic, requestId, size, acks] of [
      ['bench', 1n, 1, v1.Acks.LEADER],
      ['rf3', 300n, 200, v1.Acks.ALL],
      ['t'.repeat(200), 2n ** 40n, 300_000, v1.Acks.LEADER],
    ] as const) {
      const batch = Buffer.alloc(size, 7);
      const decoded = v1.ProduceStreamRequest.decode(encodeProduceFrame({ topic, requestId, acks, batch }));
      expect(decoded.requestId).toBe(requestId);
      expect(decoded.acks).toBe(acks);
      expect(decoded.timeoutMs).toBe(30_000);
      expect(decoded.partitions).toHaveLength(1);
      const partition = decoded.partitions[0]!;
      expect([partition.topic, partition.partition, partition.payload?.$case]).toEqual([topic, 0, 'recordBatches']);
      expect(Buffer.compare(partition.payload!.value as Buffer, batch)).toBe(0);
    }
  });
});
