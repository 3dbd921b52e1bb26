/**
 * Reads, long-polled as Kafka Fetch is: a read answers once `min_bytes` are available across
 * its partitions, or once any partition has an error, or when `max_wait_ms` has passed.
 *
 * A waiting read listens to its partitions: an append wakes it at once (no polling timer
 * stands between a write and a subscribed reader), and so do a leadership change, a removal or
 * a log that finished opening. Only the partitions that changed are read again.
 *
 * Limits: each partition returns at most its `max_bytes` and the response at most `max_bytes`
 * overall, both with server defaults (for 0) and maximums; the first batch found is always
 * returned whole however large, so a reader never stalls on a batch bigger than its limits.
 * Later partitions get nothing once the response is full.
 */
import type { Scheduler } from '@starlane/io-ports';
import { errorCodeToProto } from '@starlane/metadata-rpc';
import type { ErrorCode } from '@starlane/model';
import { v1, type internalV1 } from '@starlane/proto';
import { lookupPartition, resultCode, type HostedPartition, type PartitionManager } from '@starlane/replica';

/** Bytes per partition when a request says 0 (Kafka's max.partition.fetch.bytes default). */
export const readPartitionBytesDefault = 1024 * 1024;
/** Most bytes a request may ask for per partition. */
export const readPartitionBytesMax = 32 * 1024 * 1024;
/** Bytes per response when a request says 0, and the most it may ask for: well below the gRPC
 * message bound (64 MiB), which must also fit a first batch larger than the limit. */
export const readResponseBytesMax = 32 * 1024 * 1024;
/** Longest a read may wait for `min_bytes`. */
export const readWaitMsMax = 30_000;
/** Partitions one read may name. */
export const readPartitionsMax = 10_000;

/** A read request, as Read and ReadStream carry it. */
export interface ReadSpec {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly isolationLevel: v1.IsolationLevel;
  readonly partitions: readonly internalV1.ReadPartition[];
}

/** Request-level checks; null when the request may be served. */
export function checkReadRequest(spec: ReadSpec): { code: ErrorCode; message: string } | null {
  if (spec.partitions.length > readPartitionsMax) return { code: 'INVALID_REQUEST', message: `a read names at most ${readPartitionsMax} partitions` };
  switch (spec.isolationLevel) {
    case v1.IsolationLevel.UNSPECIFIED:
    case v1.IsolationLevel.READ_UNCOMMITTED:
    case v1.IsolationLevel.READ_COMMITTED:
      return null;
    default:
      return { code: 'INVALID_REQUEST', message: `isolation level ${String(spec.isolationLevel)} is not known` };
  }
}

interface Entry {
  readonly spec: internalV1.ReadPartition;
  readonly maxBytes: number;
  result: v1.FetchPartitionResult;
  bytes: number;
  failed: boolean;
  /** Changed since it was last read. */
  dirty: boolean;
  partition: HostedPartition | undefined;
  unlisten: (() => void) | undefined;
}

function failure(spec: internalV1.ReadPartition, code: ErrorCode, message: string, bounds?: { highWatermark: bigint; logStartOffset: bigint }): v1.FetchPartitionResult {
  return {
    topic: spec.topic,
    partition: spec.partition,
    // OFFSET_OUT_OF_RANGE carries the bounds (as Kafka's does), so the reader can reset.
    highWatermark: bounds?.highWatermark ?? -1n,
    lastStableOffset: bounds?.highWatermark ?? -1n,
    logStartOffset: bounds?.logStartOffset ?? -1n,
    nextOffset: spec.offset,
    payload: undefined,
    errorCode: errorCodeToProto(code),
    errorMessage: message,
  };
}

function nothingYet(spec: internalV1.ReadPartition): v1.FetchPartitionResult {
  return { topic: spec.topic, partition: spec.partition, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, nextOffset: spec.offset, payload: undefined, errorCode: v1.ErrorCode.NONE, errorMessage: '' };
}

/**
 * One read from its arrival to its answer. `start()` once; `onDone` is called exactly once
 * with one result per requested partition, in request order, unless `cancel()` came first.
 */
export class ReadOperation {
  private readonly entries: Entry[];
  private readonly minBytes: number;
  private readonly responseBytesMax: number;
  private readonly maxWaitMs: number;
  private done = false;
  private passRunning = false;
  private passAgain = false;
  private passQueued = false;
  private expired = false;
  private cancelTimer: (() => void) | undefined;

  constructor(
    private readonly manager: PartitionManager,
    private readonly scheduler: Scheduler,
    spec: ReadSpec,
    private readonly onDone: (results: v1.FetchPartitionResult[]) => void,
  ) {
    this.minBytes = Math.max(0, spec.minBytes);
    this.responseBytesMax = spec.maxBytes <= 0 ? readResponseBytesMax : Math.min(spec.maxBytes, readResponseBytesMax);
    this.maxWaitMs = Math.min(Math.max(0, spec.maxWaitMs), readWaitMsMax);
    this.entries = spec.partitions.map((partition) => ({
      spec: partition,
      maxBytes: partition.maxBytes <= 0 ? readPartitionBytesDefault : Math.min(partition.maxBytes, readPartitionBytesMax),
      result: nothingYet(partition),
      bytes: 0,
      failed: false,
      dirty: true,
      partition: undefined,
      unlisten: undefined,
    }));
  }

  start(): void {
    if (this.maxWaitMs > 0 && this.minBytes > 0) {
      this.cancelTimer = this.scheduler.schedule(this.maxWaitMs, () => {
        this.expired = true;
        this.finishWhenIdle();
      });
    }
    this.runPasses();
  }

  /** The caller is gone: stop listening and never answer. */
  cancel(): void {
    this.done = true;
    this.cleanUp();
  }

  /** Answer with what is there now, without waiting any longer (the node is stopping). */
  hurry(): void {
    this.expired = true;
    this.finishWhenIdle();
  }

  private finishWhenIdle(): void {
    if (this.done) return;
    if (this.passRunning) {
      this.passAgain = true;
      return;
    }
    this.finish();
  }

  private wake(partition: HostedPartition): void {
    if (this.done) return;
    for (const entry of this.entries) if (entry.partition === partition) entry.dirty = true;
    if (this.passRunning) {
      this.passAgain = true;
      return;
    }
    // Wake-ups in one turn of the event loop (several appends drained at once) share one pass.
    if (this.passQueued) return;
    this.passQueued = true;
    queueMicrotask(() => {
      this.passQueued = false;
      this.runPasses();
    });
  }

  private runPasses(): void {
    if (this.done || this.passRunning) return;
    this.passRunning = true;
    this.pass().then(
      () => {
        this.passRunning = false;
        if (this.done) return;
        if (this.satisfied()) {
          this.finish();
          return;
        }
        if (this.passAgain) {
          this.passAgain = false;
          this.runPasses();
        }
      },
      (error: unknown) => {
        // pass() catches per partition; anything here is a bug, answered rather than hung.
        this.passRunning = false;
        const { code, message } = resultCode(error);
        for (const entry of this.entries) {
          entry.result = failure(entry.spec, code, message);
          entry.failed = true;
        }
        this.finish();
      },
    );
  }

  private satisfied(): boolean {
    if (this.expired || this.minBytes === 0 || this.maxWaitMs === 0 || this.entries.length === 0) return true;
    let total = 0;
    for (const entry of this.entries) {
      if (entry.failed) return true;
      total += entry.bytes;
    }
    return total >= this.minBytes;
  }

  private async pass(): Promise<void> {
    for (const entry of this.entries) {
      if (!entry.dirty || this.done) continue;
      entry.dirty = false;
      await this.readEntry(entry);
    }
  }

  private async readEntry(entry: Entry): Promise<void> {
    const { spec } = entry;
    const lookup = lookupPartition(this.manager, spec, true);
    if (!lookup.ok) {
      this.fail(entry, lookup.code, lookup.message);
      return;
    }
    const partition = lookup.partition;
    if (entry.partition !== partition) {
      entry.unlisten?.();
      entry.partition = partition;
      entry.unlisten = partition.listen(() => this.wake(partition));
    }
    const log = partition.onlineLog;
    if (log === undefined) {
      // Still opening: the partition wakes this read when it is open (or failed to open).
      entry.result = nothingYet(spec);
      entry.bytes = 0;
      return;
    }
    const highWatermark = partition.highWatermark;
    const logStartOffset = log.logStartOffset;
    // As Kafka: out of range only outside the log; an offset in the log but at or past the high
    // watermark (a new leader whose followers have not fetched yet) reads nothing for now.
    if (spec.offset < logStartOffset || spec.offset > log.logEndOffset) {
      this.fail(entry, 'OFFSET_OUT_OF_RANGE', `offset ${spec.offset} is outside [${logStartOffset}, ${log.logEndOffset}]`, { highWatermark, logStartOffset });
      return;
    }
    let othersBytes = 0;
    for (const other of this.entries) if (other !== entry) othersBytes += other.bytes;
    const budget = this.responseBytesMax - othersBytes;
    const empty = { topic: spec.topic, partition: spec.partition, highWatermark, lastStableOffset: highWatermark, logStartOffset, nextOffset: spec.offset, payload: undefined, errorCode: v1.ErrorCode.NONE, errorMessage: '' };
    // Nothing new, or the response is full (a reader that has data already gets no more).
    if (spec.offset >= highWatermark || (budget <= 0 && othersBytes > 0)) {
      entry.result = empty;
      entry.bytes = 0;
      return;
    }
    try {
      const read = await log.read(spec.offset, { maxBytes: Math.max(1, Math.min(entry.maxBytes, budget)), maxOffset: highWatermark });
      entry.bytes = read.records.length;
      entry.result =
        read.records.length === 0
          ? empty
          : { ...empty, logStartOffset: read.logStartOffset, nextOffset: read.nextOffset, payload: { $case: 'recordBatches', value: read.records } };
    } catch (error) {
      const { code, message } = resultCode(error);
      if (code === 'OFFSET_OUT_OF_RANGE') {
        // Retention moved the log start past the offset while it was being read.
        this.fail(entry, code, message, { highWatermark: partition.highWatermark, logStartOffset: log.logStartOffset });
      } else {
        this.fail(entry, code, message);
      }
    }
  }

  private fail(entry: Entry, code: ErrorCode, message: string, bounds?: { highWatermark: bigint; logStartOffset: bigint }): void {
    entry.result = failure(entry.spec, code, message, bounds);
    entry.bytes = 0;
    entry.failed = true;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.cleanUp();
    // A log still opening when the read answers cannot say where it stands: the reader retries.
    for (const entry of this.entries) {
      if (!entry.failed && entry.bytes === 0 && entry.partition?.status === 'opening') {
        this.fail(entry, 'NOT_LEADER_OR_FOLLOWER', `${entry.spec.topic}-${entry.spec.partition} is still opening its log`);
      }
    }
    this.onDone(this.entries.map((entry) => entry.result));
  }

  private cleanUp(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    for (const entry of this.entries) {
      entry.unlisten?.();
      entry.unlisten = undefined;
    }
  }
}
