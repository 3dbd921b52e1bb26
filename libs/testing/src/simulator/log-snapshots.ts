/**
 * The replicas' logs as the checks read them after every step, read incrementally so that
 * checking every step costs what the step wrote, not the whole log.
 *
 * Per replica (node, incarnation, partition) a cursor remembers how far the log has been
 * verified: every record below `verifiedTo` was read at an earlier step, lay below the
 * replica's high watermark and matched the committed history. Each step reads only from there
 * to the log end (and not at all when neither the log end nor the high watermark moved), so
 * `ReplicaSnapshot.records` starts at `recordsFrom`.
 *
 * What was verified stays verified only while the bytes under it stay put. Records live in
 * the log's segment files, and a segment file's written bytes change only by a truncation, a
 * write below its end, a removal or a rename (NodeHost counts these as `logRewrites`). So the
 * cursor starts again from the log start when that count moved, when the node restarted, or
 * when the log end fell below (or the log start rose above) what was verified.
 */
import { partitionKey, type CommittedHistory, type ReplicaSnapshot } from './checks';
import type { SimNode, SimRecord, SimReplicaState } from './sim-node';

/** What the reader needs of a node's host. */
export interface SnapshotSource<Req, Res> {
  readonly nodeId: number;
  readonly node: SimNode<Req, Res> | undefined;
  readonly incarnation: number;
  readonly logRewrites: number;
  /** Whether the node's replicas can be read now (up or paused, not down or starting). */
  readonly readable: boolean;
}

interface Cursor {
  readonly incarnation: number;
  readonly logRewrites: number;
  verifiedTo: bigint;
  /** Records from `verifiedTo` to the log end as last read, with the state they were read at. */
  tail: readonly SimRecord[];
  tailLogEnd: bigint;
  tailHighWatermark: bigint;
}

export interface LogReadStats {
  /** Reads of a replica's log (one per replica and step whose log end or high watermark moved). */
  reads: number;
  /** Records read. */
  records: number;
  /** Cursors that started again from the log start. */
  restarts: number;
}

export class LogSnapshots<Req, Res> {
  private readonly cursors = new Map<string, Cursor>();
  readonly stats: LogReadStats = { reads: 0, records: 0, restarts: 0 };

  /** Every readable replica with its records from `recordsFrom` (the verified point) to its log end. */
  async read(sources: Iterable<SnapshotSource<Req, Res>>): Promise<ReplicaSnapshot[]> {
    const replicas: ReplicaSnapshot[] = [];
    for (const source of sources) {
      const node = source.node;
      if (node === undefined || !source.readable) continue;
      for (const state of node.replicas()) {
        const cursor = await this.cursorFor(source, node, state);
        replicas.push({ ...state, nodeId: source.nodeId, records: cursor.tail, recordsFrom: cursor.verifiedTo });
      }
    }
    return replicas;
  }

  /**
   * After the checks passed on `replicas`: the records below each replica's high watermark
   * are now verified (they match `history`, which the caller has merged them into).
   */
  advance(replicas: readonly ReplicaSnapshot[], history: CommittedHistory): void {
    for (const replica of replicas) {
      const cursor = this.cursors.get(cursorKey(replica.nodeId, replica.topicId, replica.partition));
      if (cursor === undefined || replica.records === undefined) continue;
      const committed = history.get(partitionKey(replica.topicId, replica.partition));
      const bound = replica.highWatermark < replica.logEndOffset ? replica.highWatermark : replica.logEndOffset;
      let kept = 0;
      for (const record of cursor.tail) {
        if (record.offset >= bound || committed?.get(record.offset) !== record.value) break;
        kept += 1;
      }
      if (kept === 0) continue;
      cursor.verifiedTo = (cursor.tail[kept - 1] as SimRecord).offset + 1n;
      cursor.tail = cursor.tail.slice(kept);
    }
  }

  private async cursorFor(source: SnapshotSource<Req, Res>, node: SimNode<Req, Res>, state: SimReplicaState): Promise<Cursor> {
    const key = cursorKey(source.nodeId, state.topicId, state.partition);
    let cursor = this.cursors.get(key);
    const stale =
      cursor === undefined ||
      cursor.incarnation !== source.incarnation ||
      cursor.logRewrites !== source.logRewrites ||
      state.logEndOffset < cursor.verifiedTo ||
      state.logStartOffset > cursor.verifiedTo;
    if (stale) {
      if (cursor !== undefined) this.stats.restarts += 1;
      cursor = { incarnation: source.incarnation, logRewrites: source.logRewrites, verifiedTo: state.logStartOffset, tail: [], tailLogEnd: -1n, tailHighWatermark: -1n };
      this.cursors.set(key, cursor);
    }
    const current = cursor as Cursor;
    if (current.tailLogEnd !== state.logEndOffset || current.tailHighWatermark !== state.highWatermark) {
      current.tail = current.verifiedTo < state.logEndOffset ? await node.readRecords(state.topicId, state.partition, current.verifiedTo) : [];
      current.tailLogEnd = state.logEndOffset;
      current.tailHighWatermark = state.highWatermark;
      this.stats.reads += 1;
      this.stats.records += current.tail.length;
    }
    return current;
  }
}

function cursorKey(nodeId: number, topicId: string, partition: number): string {
  return `${nodeId}|${partitionKey(topicId, partition)}`;
}
