import { StarlaneError, wireErrorCode } from '@starlane/model';
import { v1 } from '@starlane/proto';
import { FakeMetadata, FakeTransport, appendError, appendOk, image, node, settle, topic } from '../fakes';
import { retryBackoffMsMax } from '../limits';
import { AnswerLostError } from '../storage/transport';
import { PartitionWriter, type PartitionWrite } from './partition-writer';

function setup(leaders: number[] = [1], epochs: number[] = [0]) {
  const metadata = new FakeMetadata(image(1, [node(1), node(2)], [topic('t', leaders, { epochs })]));
  const transport = new FakeTransport();
  const writer = new PartitionWriter({ metadata, transport, now: metadata.now });
  const write = (tag: string, partition = 0): Promise<v1.ProducePartitionResult> & { tag: string } => {
    const request: PartitionWrite = { topic: 't', partition, recordBatches: Buffer.from(tag), acks: v1.Acks.LEADER, deadlineMs: metadata.nowMs + 30_000 };
    return Object.assign(writer.write(request), { tag });
  };
  return { metadata, transport, writer, write };
}

const tags = (transport: FakeTransport, from = 0): string[] => transport.appends.slice(from).map((append) => append.call.partitions[0]!.recordBatches.toString());

describe('PartitionWriter', () => {
  it('probes a new route with one write, then pipelines once the leader accepted one', async () => {
    const { transport, write } = setup();
    const first = write('a');
    const second = write('b');
    const third = write('c');
    await settle();
    expect(tags(transport)).toEqual(['a']);
    const append = transport.appends[0]!;
    expect(append.node).toBe(1);
    expect(append.call.partitions[0]).toMatchObject({ topic: 't', topicId: 't-id', partition: 0, currentLeaderEpoch: 0 });
    append.answer([appendOk(0n)]);
    await settle();
    // Confirmed: the rest go out together.
    expect(tags(transport)).toEqual(['a', 'b', 'c']);
    transport.appends[2]!.answer([appendOk(2n)]);
    transport.appends[1]!.answer([appendOk(1n)]);
    expect((await first).baseOffset).toBe(0n);
    expect((await second).baseOffset).toBe(1n);
    expect(await third).toMatchObject({ topic: 't', partition: 0, baseOffset: 2n, errorCode: v1.ErrorCode.NONE });
  });

  it('after a leader change resends every failed write to the new leader in the original order', async () => {
    const { metadata, transport, write } = setup();
    const a = write('a');
    await settle();
    transport.appends[0]!.answer([appendOk(0n)]);
    await a;
    const writes = ['b', 'c', 'd'].map((tag) => write(tag));
    await settle();
    expect(tags(transport, 1)).toEqual(['b', 'c', 'd']);
    // The old leader refuses c and d; b is still in flight. Nothing new may go out meanwhile.
    transport.appends[2]!.answer([appendError('NOT_LEADER_OR_FOLLOWER')]);
    await settle();
    const e = write('e');
    transport.appends[3]!.answer([appendError('NOT_LEADER_OR_FOLLOWER')]);
    await settle();
    expect(transport.appends).toHaveLength(4);
    transport.appends[1]!.answer([appendError('NOT_LEADER_OR_FOLLOWER')]);
    await settle();
    // Everything settled: the lane waits for metadata naming another leader.
    expect(transport.appends).toHaveLength(4);
    expect(metadata.waiting).toBe(1);
    metadata.publish(image(2, [node(1), node(2)], [topic('t', [2], { epochs: [1] })]));
    await settle();
    // Probing the new leader with the oldest failed write first.
    expect(tags(transport, 4)).toEqual(['b']);
    expect(transport.appends[4]).toMatchObject({ node: 2 });
    expect(transport.appends[4]!.call.partitions[0]!.currentLeaderEpoch).toBe(1);
    transport.appends[4]!.answer([appendOk(10n)]);
    await settle();
    expect(tags(transport, 5)).toEqual(['c', 'd', 'e']);
    transport.appends[5]!.answer([appendOk(11n)]);
    transport.appends[6]!.answer([appendOk(12n)]);
    transport.appends[7]!.answer([appendOk(13n)]);
    expect((await Promise.all([...writes, e])).map((result) => result.baseOffset)).toEqual([10n, 11n, 12n, 13n]);
  });

  it('retries a leader that lags behind the metadata after a backoff, without a metadata change', async () => {
    const { metadata, transport, write } = setup();
    const a = write('a');
    await settle();
    transport.appends[0]!.answer([appendError('UNKNOWN_LEADER_EPOCH')]);
    await settle();
    expect(transport.appends).toHaveLength(1);
    metadata.advance(retryBackoffMsMax);
    await settle();
    expect(transport.appends).toHaveLength(2);
    expect(transport.appends[1]!.node).toBe(1);
    transport.appends[1]!.answer([appendOk(5n)]);
    expect((await a).baseOffset).toBe(5n);
  });

  it('retries a leader it could not reach and treats a broken session as unconfirmed', async () => {
    const { metadata, transport, write } = setup();
    const a = write('a');
    await settle();
    transport.appends[0]!.answer([appendOk(0n)]);
    await a;
    transport.sessions.set(1, 1);
    const b = write('b');
    const c = write('c');
    await settle();
    // A new session to the node: probe again.
    expect(tags(transport, 1)).toEqual(['b']);
    transport.appends[1]!.fail(new StarlaneError('BROKER_NOT_AVAILABLE', 'connection refused'));
    await settle();
    metadata.advance(retryBackoffMsMax);
    await settle();
    expect(tags(transport, 2)).toEqual(['b']);
    transport.appends[2]!.answer([appendOk(1n)]);
    await settle();
    transport.appends[3]!.answer([appendOk(2n)]);
    expect([(await b).baseOffset, (await c).baseOffset]).toEqual([1n, 2n]);
  });

  it('does not send again a write whose answer was lost after sending: it may be stored already', async () => {
    const { transport, write } = setup();
    const a = write('a');
    await settle();
    transport.appends[0]!.answer([appendOk(0n)]);
    await a;
    const b = write('b');
    await settle();
    transport.appends[1]!.fail(new AnswerLostError('BROKER_NOT_AVAILABLE', 'stream ended; the request was sent, its outcome is unknown'));
    const result = await b;
    expect(result).toMatchObject({ baseOffset: -1n, errorCode: wireErrorCode('BROKER_NOT_AVAILABLE') });
    expect(tags(transport)).toEqual(['a', 'b']);
  });

  it('does not send again a write the leader wrote but could not commit', async () => {
    const { transport, write } = setup();
    const a = write('a');
    await settle();
    // The leader appended at offset 7, then lost its leadership before the ISR had it.
    transport.appends[0]!.answer([{ ...appendError('NOT_LEADER_OR_FOLLOWER'), baseOffset: 7n }]);
    const result = await a;
    // The client hears the error (and no offset, as the contract says for errors); nothing is resent.
    expect(result).toMatchObject({ baseOffset: -1n, errorCode: wireErrorCode('NOT_LEADER_OR_FOLLOWER') });
    expect(tags(transport)).toEqual(['a']);
  });

  it('waits for a leader when the partition has none, and gives up at the deadline with the last error', async () => {
    const { metadata, transport, write } = setup([-1]);
    const a = write('a');
    await settle();
    expect(transport.appends).toHaveLength(0);
    for (let i = 0; i < 200 && metadata.waiting > 0; i++) {
      metadata.advance(retryBackoffMsMax);
      await settle();
    }
    const result = await a;
    expect(result.errorCode).toBe(v1.ErrorCode.LEADER_NOT_AVAILABLE);
    expect(result.baseOffset).toBe(-1n);
  });

  it('returns errors that are not about leadership at once', async () => {
    const { transport, write } = setup();
    const a = write('a');
    await settle();
    transport.appends[0]!.answer([appendError('CORRUPT_MESSAGE')]);
    expect((await a).errorCode).toBe(v1.ErrorCode.CORRUPT_MESSAGE);
  });

  it('keeps partitions independent', async () => {
    const { transport, write } = setup([1, 2], [0, 0]);
    const a = write('a', 0);
    const b = write('b', 1);
    await settle();
    expect(transport.appends.map((append) => append.node).sort()).toEqual([1, 2]);
    transport.appends[1]!.answer([appendOk(7n)]);
    transport.appends[0]!.answer([appendOk(3n)]);
    expect((await a).partition).toBe(0);
    expect((await b).partition).toBe(1);
  });

  it('fails a write to a topic deleted while it waited', async () => {
    const { metadata, transport, write } = setup();
    const a = write('a');
    await settle();
    transport.appends[0]!.answer([appendError('NOT_LEADER_OR_FOLLOWER')]);
    await settle();
    metadata.publish(image(2, [node(1)], []));
    await settle();
    expect((await a).errorCode).toBe(v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
