/**
 * Deterministic stand-ins for the gateway's unit tests: metadata that changes when the test
 * says so, on a manual clock, and a storage transport whose calls the test answers one by one.
 * Not used by the gateway itself.
 */
import { imageFromSnapshot, noLeader, type MetadataImage, type NodeInfo, type TopicState } from '@starlane/metadata';
import { type StarlaneError, wireErrorCode, type ErrorCode } from '@starlane/model';
import { type internalV1, v1 } from '@starlane/proto';
import type { MetadataSource } from './routing';
import type { AppendCall, ReadCall, StorageTransport } from './storage/transport';

export function node(nodeId: number, state: NodeInfo['state'] = 'active'): NodeInfo {
  return { nodeId, host: '127.0.0.1', port: 9000 + nodeId, rack: '', state, nodeEpoch: nodeId, offlineLogDirIds: [] };
}

/** A topic whose partition i is led by `leaders[i]` in `epochs[i]` (0 by default). */
export function topic(name: string, leaders: readonly number[], options: { topicId?: string; epochs?: readonly number[]; configs?: Record<string, string> } = {}): TopicState {
  return {
    name,
    topicId: options.topicId ?? `${name}-id`,
    internal: false,
    configs: options.configs ?? {},
    partitions: leaders.map((leader, partition) => ({
      partition,
      leader,
      leaderEpoch: options.epochs?.[partition] ?? 0,
      partitionEpoch: 0,
      replicas: leader === noLeader ? [] : [leader],
      isr: leader === noLeader ? [] : [leader],
      elr: [],
      offlineReplicas: [],
      addingReplicas: [],
      removingReplicas: [],
    })),
  };
}

export function image(version: number, nodes: readonly NodeInfo[], topics: readonly TopicState[]): MetadataImage {
  return imageFromSnapshot({ clusterId: 'test', version, controller: undefined, nodes, topics, clusterConfigs: {} });
}

interface Waiter {
  readonly predicate: (image: MetadataImage) => boolean;
  readonly resolve: (image: MetadataImage | undefined) => void;
  readonly deadlineMs: number;
}

/**
 * Metadata on a manual clock: `publish` applies a new image, `advance` moves time and times
 * waits out. Built without an image, it has none (as a gateway before its first snapshot)
 * until the first `publish`.
 */
export class FakeMetadata implements MetadataSource {
  nowMs = 1_000_000;
  private waiters: Waiter[] = [];
  private image: MetadataImage;
  ready: boolean;

  constructor(image?: MetadataImage) {
    this.image = image ?? imageFromSnapshot({ clusterId: '', version: 0, controller: undefined, nodes: [], topics: [], clusterConfigs: {} });
    this.ready = image !== undefined;
  }

  readonly now = (): number => this.nowMs;

  current(): MetadataImage {
    return this.image;
  }

  notReadyReason(): string {
    return 'no answer from controllers 127.0.0.1:1 (connect ECONNREFUSED)';
  }

  waitFor(predicate: (image: MetadataImage) => boolean, timeoutMs: number): Promise<MetadataImage | undefined> {
    if (this.ready && predicate(this.image)) return Promise.resolve(this.image);
    return new Promise((resolve) => this.waiters.push({ predicate, resolve, deadlineMs: this.nowMs + timeoutMs }));
  }

  publish(image: MetadataImage): void {
    this.image = image;
    this.ready = true;
    const ready = this.waiters.filter((waiter) => waiter.predicate(image));
    this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve(image);
  }

  advance(ms: number): void {
    this.nowMs += ms;
    const expired = this.waiters.filter((waiter) => waiter.deadlineMs <= this.nowMs);
    this.waiters = this.waiters.filter((waiter) => !expired.includes(waiter));
    for (const waiter of expired) waiter.resolve(undefined);
  }

  get waiting(): number {
    return this.waiters.length;
  }
}

export interface RecordedAppend {
  readonly node: number;
  readonly session: number;
  readonly call: AppendCall;
  answer(results: v1.ProducePartitionResult[]): void;
  fail(error: StarlaneError): void;
}

export interface RecordedRead {
  readonly node: number;
  readonly call: ReadCall;
  answer(results: v1.FetchPartitionResult[]): void;
  fail(error: StarlaneError): void;
}

/** A transport that records every call and lets the test answer it. */
export class FakeTransport implements StorageTransport {
  readonly appends: RecordedAppend[] = [];
  readonly reads: RecordedRead[] = [];
  readonly sessions = new Map<number, number>();
  offsetAnswers: (node: number, lookups: readonly internalV1.OffsetLookup[]) => v1.ListOffsetsPartitionResult[] = () => [];

  appendSession(target: NodeInfo): number {
    return this.sessions.get(target.nodeId) ?? 0;
  }

  append(target: NodeInfo, call: AppendCall): Promise<{ session: number; results: v1.ProducePartitionResult[] }> {
    const session = this.appendSession(target);
    return new Promise((resolve, reject) => {
      this.appends.push({ node: target.nodeId, session, call, answer: (results) => resolve({ session, results }), fail: reject });
    });
  }

  read(target: NodeInfo, call: ReadCall): Promise<v1.FetchPartitionResult[]> {
    return new Promise((resolve, reject) => this.reads.push({ node: target.nodeId, call, answer: resolve, fail: reject }));
  }

  listOffsets(target: NodeInfo, _isolationLevel: v1.IsolationLevel, lookups: readonly internalV1.OffsetLookup[]): Promise<v1.ListOffsetsPartitionResult[]> {
    return Promise.resolve(this.offsetAnswers(target.nodeId, lookups));
  }

  closed = false;

  close(): void {
    this.closed = true;
  }
}

export function appendOk(baseOffset: bigint): v1.ProducePartitionResult {
  return { topic: '', partition: 0, baseOffset, logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorCode: v1.ErrorCode.NONE, errorMessage: '' };
}

export function appendError(code: ErrorCode): v1.ProducePartitionResult {
  return { ...appendOk(-1n), errorCode: wireErrorCode(code) as v1.ErrorCode, errorMessage: code };
}

/** Lets every settled promise's callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
