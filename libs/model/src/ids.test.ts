import { AssertionFailure } from './errors';
import { leaderEpoch, nodeId, offset, partitionId, producerEpoch, producerId } from './ids';

describe('branded ids', () => {
  it('keeps int64 values exact', () => {
    expect(offset(2n ** 63n - 1n)).toBe(9223372036854775807n);
    expect(producerId(2n ** 53n + 1n)).toBe(9007199254740993n);
  });

  it('rejects values outside their domain', () => {
    expect(() => offset(-1n)).toThrow(AssertionFailure);
    expect(() => offset(2n ** 63n)).toThrow(AssertionFailure);
    expect(() => leaderEpoch(1.5)).toThrow(AssertionFailure);
    expect(() => nodeId(-1)).toThrow(AssertionFailure);
    expect(() => partitionId(2 ** 31)).toThrow(AssertionFailure);
    expect(() => producerEpoch(32768)).toThrow(AssertionFailure);
  });
});
