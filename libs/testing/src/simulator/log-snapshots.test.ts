import { LogSnapshots, type SnapshotSource } from './log-snapshots';
import type { SimNode, SimRecord, SimReplicaState } from './sim-node';

/** One replica whose log is `values` (offset = index) with a high watermark; counts reads. */
function source(values: string[], state: { hw: bigint; logStart?: bigint }): { source: SnapshotSource<never, never> & { logRewrites: number; incarnation: number }; reads: bigint[] } {
  const reads: bigint[] = [];
  const replica = (): SimReplicaState => ({
    topicId: 't',
    partition: 0,
    leaderEpoch: 1,
    isLeader: true,
    highWatermark: state.hw,
    logStartOffset: state.logStart ?? 0n,
    logEndOffset: BigInt(values.length),
  });
  const node = {
    replicas: () => [replica()],
    readRecords: async (_topicId: string, _partition: number, from: bigint): Promise<SimRecord[]> => {
      reads.push(from);
      return values.slice(Number(from)).map((value, i) => ({ offset: from + BigInt(i), value }));
    },
  } as unknown as SimNode<never, never>;
  return { source: { nodeId: 1, node, incarnation: 1, logRewrites: 0, readable: true }, reads };
}

const history = (values: string[]): Map<string, Map<bigint, string>> => new Map([['t-0', new Map(values.map((value, i) => [BigInt(i), value]))]]);

describe('incremental log snapshots', () => {
  it('reads only what is past the verified prefix, and nothing when neither the log end nor the high watermark moved', async () => {
    const values = ['a', 'b', 'c'];
    const state = { hw: 2n };
    const { source: node, reads } = source(values, state);
    const logs = new LogSnapshots<never, never>();
    const first = await logs.read([node]);
    expect(first[0]).toMatchObject({ recordsFrom: 0n, records: [{ offset: 0n }, { offset: 1n }, { offset: 2n }] });
    logs.advance(first, history(['a', 'b']));
    const second = await logs.read([node]);
    expect(second[0]).toMatchObject({ recordsFrom: 2n, records: [{ offset: 2n, value: 'c' }] });
    expect(reads).toEqual([0n]);
    values.push('d');
    state.hw = 4n;
    const third = await logs.read([node]);
    expect(third[0]).toMatchObject({ recordsFrom: 2n, records: [{ offset: 2n }, { offset: 3n }] });
    expect(reads).toEqual([0n, 2n]);
  });

  it('reads the whole log again after a rewrite of its segment files, a restart, or a log end below the verified prefix', async () => {
    const values = ['a', 'b', 'c'];
    const { source: node, reads } = source(values, { hw: 3n });
    const logs = new LogSnapshots<never, never>();
    logs.advance(await logs.read([node]), history(values));
    node.logRewrites += 1;
    expect((await logs.read([node]))[0]?.recordsFrom).toBe(0n);
    logs.advance(await logs.read([node]), history(values));
    node.incarnation += 1;
    expect((await logs.read([node]))[0]?.recordsFrom).toBe(0n);
    logs.advance(await logs.read([node]), history(values));
    values.pop();
    expect((await logs.read([node]))[0]?.recordsFrom).toBe(0n);
    expect(reads).toEqual([0n, 0n, 0n, 0n]);
    expect(logs.stats.restarts).toBe(3);
  });

  it('does not verify past a record that differs from the committed history', async () => {
    const { source: node } = source(['a', 'x', 'c'], { hw: 3n });
    const logs = new LogSnapshots<never, never>();
    logs.advance(await logs.read([node]), history(['a', 'b', 'c']));
    expect((await logs.read([node]))[0]).toMatchObject({ recordsFrom: 1n, records: [{ value: 'x' }, { value: 'c' }] });
  });
});
