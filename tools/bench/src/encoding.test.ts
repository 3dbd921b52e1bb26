import { v1 } from '@starlane/proto';
import { encodeProduceFrame } from './e2e-suite';

describe('the e2e bench produce encoder', () => {
  it('encodes what the generated decoder reads back, for small and large ids and batches', () => {
    for (const [requestId, size] of [
      [1n, 1],
      [300n, 200],
      [2n ** 40n, 300_000],
    ] as const) {
      const batch = Buffer.alloc(size, 7);
      const decoded = v1.ProduceStreamRequest.decode(encodeProduceFrame({ requestId, acks: v1.Acks.LEADER, batch }));
      expect(decoded.requestId).toBe(requestId);
      expect(decoded.acks).toBe(v1.Acks.LEADER);
      expect(decoded.timeoutMs).toBe(30_000);
      expect(decoded.partitions).toHaveLength(1);
      const partition = decoded.partitions[0]!;
      expect([partition.topic, partition.partition, partition.payload?.$case]).toEqual(['bench', 0, 'recordBatches']);
      expect(Buffer.compare(partition.payload!.value as Buffer, batch)).toBe(0);
    }
  });
});
