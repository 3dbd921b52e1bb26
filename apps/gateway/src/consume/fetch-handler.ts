/**
 * ConsumerService.Fetch: reads each partition at its leader and long-polls like Kafka Fetch.
 *
 * Partitions led by one node (the common case) are read with one long-poll read that carries
 * the client's min_bytes and max_wait. When the partitions span several nodes, the gateway
 * first reads all of them without waiting; if that is not yet min_bytes, it long-polls every
 * node and answers as soon as any of them returns data (or the wait ends), keeping the other
 * partitions' first answers. Partitions that meet a leader change are read again from the new
 * leader within the wait.
 */
import { StarlaneError, backoffMs, errorCodeFromWire, validateTopicName } from '@starlane/model';
import { type internalV1, v1 } from '@starlane/proto';
import { leaderRetryBackoff } from '../backoff';
import { fetchBytesDefault, fetchBytesMax, fetchPartitionBytesDefault, fetchPartitionsMax, fetchWaitMsMax } from '../limits';
import { asStarlaneError } from '../produce/partition-writer';
import { isLeaderRetriable, noMetadataError, routeChanged, routePartition, type MetadataSource, type PartitionRoute } from '../routing';
import type { StorageTransport } from '../storage/transport';
import { fetchErrorResult, normalizeRead, payloadBytes, presentRead } from './read-result';

export interface ReadDeps {
  readonly metadata: MetadataSource;
  readonly transport: StorageTransport;
  readonly now: () => number;
}

/** One partition position to read. */
export interface ReadTarget {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly maxBytes: number;
}

export type ReadOutcome =
  | { readonly kind: 'data'; readonly result: v1.FetchPartitionResult }
  | { readonly kind: 'retry'; readonly error: StarlaneError; readonly route: PartitionRoute | undefined }
  | { readonly kind: 'error'; readonly error: StarlaneError };

export interface ReadOptions {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly isolationLevel: v1.IsolationLevel;
}

/** Groups `targets` by leader: [route, target index] per node, plus the outcomes of those that cannot be routed. */
export function groupByLeader(metadata: MetadataSource, targets: readonly ReadTarget[]): { groups: Map<number, { route: PartitionRoute; index: number }[]>; unrouted: Map<number, ReadOutcome> } {
  const image = metadata.current();
  const groups = new Map<number, { route: PartitionRoute; index: number }[]>();
  const unrouted = new Map<number, ReadOutcome>();
  targets.forEach((target, index) => {
    const routed = routePartition(image, target.topic, target.partition);
    if (!routed.ok) {
      unrouted.set(index, routed.error.code === 'LEADER_NOT_AVAILABLE' ? { kind: 'retry', error: routed.error, route: undefined } : { kind: 'error', error: routed.error });
      return;
    }
    const list = groups.get(routed.route.leader.nodeId) ?? [];
    list.push({ route: routed.route, index });
    groups.set(routed.route.leader.nodeId, list);
  });
  return { groups, unrouted };
}

/** Reads the partitions of one leader; an outcome per entry. */
export async function readFromLeader(transport: StorageTransport, entries: readonly { route: PartitionRoute; index: number }[], targets: readonly ReadTarget[], options: ReadOptions): Promise<ReadOutcome[]> {
  const leader = entries[0]!.route.leader;
  const partitions: internalV1.ReadPartition[] = entries.map(({ route, index }) => ({
    topic: route.topic,
    topicId: route.topicId,
    partition: route.partition,
    offset: targets[index]!.offset,
    maxBytes: targets[index]!.maxBytes,
    currentLeaderEpoch: route.leaderEpoch,
  }));
  let results: v1.FetchPartitionResult[];
  try {
    results = await transport.read(leader, { ...options, partitions });
  } catch (error) {
    const starlane = asStarlaneError(error);
    // The gateway's own transport refusing (send queue full) or giving up on an answer is
    // transient, like a leader change: retry rather than drop a subscription's partition.
    const transient = isLeaderRetriable(starlane.code) || starlane.code === 'THROTTLING_QUOTA_EXCEEDED' || starlane.code === 'REQUEST_TIMED_OUT';
    return entries.map(({ route }) => (transient ? { kind: 'retry', error: starlane, route } : { kind: 'error', error: starlane }));
  }
  return entries.map(({ route }, position): ReadOutcome => {
    const result = results[position];
    if (result === undefined) return { kind: 'error', error: new StarlaneError('UNKNOWN_SERVER_ERROR', `node ${leader.nodeId} sent no result for ${route.topic}-${route.partition}`) };
    const code = errorCodeFromWire(result.errorCode);
    if (code === undefined) return { kind: 'data', result };
    const error = new StarlaneError(code, result.errorMessage || code);
    return isLeaderRetriable(code) ? { kind: 'retry', error, route } : { kind: 'error', error };
  });
}

const validFormats: ReadonlySet<number> = new Set([v1.RecordFormat.UNSPECIFIED, v1.RecordFormat.BYTES, v1.RecordFormat.RECORDS]);
const validIsolation: ReadonlySet<number> = new Set([v1.IsolationLevel.UNSPECIFIED, v1.IsolationLevel.READ_UNCOMMITTED, v1.IsolationLevel.READ_COMMITTED]);

export function validateFormat(format: number, isolationLevel: number): void {
  if (!validFormats.has(format)) throw new StarlaneError('INVALID_REQUEST', `record format ${format} is not BYTES or RECORDS`);
  if (!validIsolation.has(isolationLevel)) throw new StarlaneError('INVALID_REQUEST', `isolation level ${isolationLevel} is not READ_UNCOMMITTED or READ_COMMITTED`);
}

/** Request-level checks of a Fetch (INVALID_REQUEST). */
export function validateFetchRequest(request: v1.FetchRequest): void {
  if (request.maxWaitMs < 0) throw new StarlaneError('INVALID_REQUEST', `max_wait_ms ${request.maxWaitMs} is negative`);
  if (request.minBytes < 0) throw new StarlaneError('INVALID_REQUEST', `min_bytes ${request.minBytes} is negative`);
  if (request.maxBytes < 0) throw new StarlaneError('INVALID_REQUEST', `max_bytes ${request.maxBytes} is negative`);
  validateFormat(request.format, request.isolationLevel);
  if (request.partitions.length > fetchPartitionsMax) throw new StarlaneError('INVALID_REQUEST', `${request.partitions.length} partitions in one fetch; at most ${fetchPartitionsMax}`);
}

export class FetchHandler {
  constructor(private readonly deps: ReadDeps) {}

  async fetch(request: v1.FetchRequest): Promise<v1.FetchResponse> {
    validateFetchRequest(request);
    const { now } = this.deps;
    if (!this.deps.metadata.ready) {
      const error = noMetadataError(this.deps.metadata);
      return { partitions: request.partitions.map((partition) => fetchErrorResult(partition, error)) };
    }
    const startMs = now();
    const deadlineMs = startMs + Math.min(request.maxWaitMs, fetchWaitMsMax);
    const maxBytes = Math.min(request.maxBytes === 0 ? fetchBytesDefault : request.maxBytes, fetchBytesMax);
    const format = request.format === v1.RecordFormat.UNSPECIFIED ? v1.RecordFormat.BYTES : request.format;
    const isolationLevel = request.isolationLevel === v1.IsolationLevel.UNSPECIFIED ? v1.IsolationLevel.READ_UNCOMMITTED : request.isolationLevel;

    const final: (v1.FetchPartitionResult | undefined)[] = new Array(request.partitions.length).fill(undefined);
    const targets: ReadTarget[] = [];
    const targetIndexes: number[] = [];
    request.partitions.forEach((partition, index) => {
      try {
        validateTopicName(partition.topic);
        if (partition.offset < 0n) throw new StarlaneError('OFFSET_OUT_OF_RANGE', `offset ${partition.offset} is negative`);
        if (partition.maxBytes < 0) throw new StarlaneError('INVALID_REQUEST', `max_bytes ${partition.maxBytes} is negative`);
        targets.push({ topic: partition.topic, partition: partition.partition, offset: partition.offset, maxBytes: partition.maxBytes === 0 ? fetchPartitionBytesDefault : Math.min(partition.maxBytes, maxBytes) });
        targetIndexes.push(index);
      } catch (error) {
        final[index] = fetchErrorResult(partition, asStarlaneError(error));
      }
    });

    const outcomes = await this.readAll(targets, { maxWaitMs: Math.max(0, deadlineMs - startMs), minBytes: request.minBytes, maxBytes, isolationLevel }, deadlineMs);
    // Present in request order within the response budget: the first non-empty partition is
    // kept whole even if larger; later ones that do not fit come back empty, to be read again.
    let budget = maxBytes;
    let anyData = false;
    for (let position = 0; position < targets.length; position++) {
      const target = targets[position]!;
      const index = targetIndexes[position]!;
      const outcome = outcomes[position]!;
      if (outcome.kind !== 'data') {
        final[index] = fetchErrorResult(target, outcome.error);
        continue;
      }
      const read = normalizeRead(outcome.result, target.offset);
      if (read.batches.length > 0 && anyData && read.batches.length > budget) {
        final[index] = { ...outcome.result, topic: target.topic, partition: target.partition, nextOffset: target.offset, payload: undefined, errorCode: v1.ErrorCode.NONE, errorMessage: '' };
        continue;
      }
      const presented = await presentRead(target, outcome.result, read, target.offset, format);
      if (read.batches.length > 0) {
        anyData = true;
        budget -= read.batches.length;
      }
      final[index] = presented;
    }
    return { partitions: final.map((result, index) => result ?? fetchErrorResult(request.partitions[index]!, new StarlaneError('UNKNOWN_SERVER_ERROR', 'no result'))) };
  }

  /** Reads every target, long-polling as the request allows and retrying leader changes until the deadline. */
  private async readAll(targets: readonly ReadTarget[], options: ReadOptions, deadlineMs: number): Promise<ReadOutcome[]> {
    const outcomes: ReadOutcome[] = targets.map(() => ({ kind: 'retry', error: new StarlaneError('LEADER_NOT_AVAILABLE', 'not read yet'), route: undefined }));
    let pending = targets.map((_, index) => index);
    let firstRound = true;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const subset = pending.map((index) => targets[index]!);
      const { groups, unrouted } = groupByLeader(this.deps.metadata, subset);
      for (const [position, outcome] of unrouted) outcomes[pending[position]!] = outcome;
      const remainingMs = Math.max(0, deadlineMs - this.deps.now());
      const groupList = [...groups.values()];
      const record = (entries: readonly { index: number }[], results: readonly ReadOutcome[]): number => {
        let bytes = 0;
        entries.forEach(({ index }, position) => {
          const outcome = results[position]!;
          outcomes[pending[index]!] = outcome;
          if (outcome.kind === 'data') bytes += payloadBytes(outcome.result);
        });
        return bytes;
      };
      if (groupList.length === 1 && firstRound) {
        // One leader: it long-polls for the whole request.
        record(groupList[0]!, await readFromLeader(this.deps.transport, groupList[0]!, subset, { ...options, maxWaitMs: remainingMs }));
      } else if (groupList.length > 0) {
        const immediate = await Promise.all(groupList.map((entries) => readFromLeader(this.deps.transport, entries, subset, { ...options, maxWaitMs: 0 })));
        let bytes = 0;
        groupList.forEach((entries, position) => (bytes += record(entries, immediate[position]!)));
        const waitMs = Math.max(0, deadlineMs - this.deps.now());
        if (firstRound && bytes < Math.max(1, options.minBytes) && waitMs > 0) {
          bytes += await this.longPollAny(groupList, subset, { ...options, maxWaitMs: waitMs, minBytes: 1 }, record);
        }
      }
      firstRound = false;
      const retry = pending.filter((index) => outcomes[index]!.kind === 'retry');
      pending = retry;
      const leftMs = deadlineMs - this.deps.now();
      if (pending.length === 0 || leftMs <= 0) break;
      const failed = pending.map((index) => {
        const outcome = outcomes[index]!;
        return { target: targets[index]!, route: outcome.kind === 'retry' ? outcome.route : undefined };
      });
      const waitMs = backoffMs(attempt, leaderRetryBackoff);
      await this.deps.metadata.waitFor((image) => failed.some(({ target, route }) => routeChanged(image, target.topic, target.partition, route)), Math.min(waitMs, leftMs));
    }
    return outcomes;
  }

  /** Long-polls every leader at once and returns when the first one brings data (or all answered). */
  private longPollAny(
    groupList: readonly { route: PartitionRoute; index: number }[][],
    subset: readonly ReadTarget[],
    options: ReadOptions,
    record: (entries: readonly { index: number }[], results: readonly ReadOutcome[]) => number,
  ): Promise<number> {
    return new Promise((resolve) => {
      let answered = 0;
      let done = false;
      for (const entries of groupList) {
        void readFromLeader(this.deps.transport, entries, subset, options).then((results) => {
          answered += 1;
          if (done) return;
          const hasData = results.some((outcome) => outcome.kind === 'data' && payloadBytes(outcome.result) > 0);
          // Answers without data keep the first round's results (their high watermarks are as fresh).
          if (hasData) {
            done = true;
            resolve(record(entries, results));
          } else if (answered === groupList.length) {
            done = true;
            resolve(0);
          }
        });
      }
    });
  }
}
