/**
 * A TEST DOUBLE of a storage node for the simulator's own tests: a toy replica (leader appends,
 * followers fetch and back off one record on a mismatch, the leader widens the ISR through the
 * controller, the high watermark is the ISR's minimum log end). It exists to exercise the
 * simulator's machinery end to end; it is not Starlane's replica code, is not exported, and the
 * `simulate` tool never runs it.
 */
import { joinPath } from '@starlane/io-ports';
import { noLeader, type MetadataImage } from '@starlane/metadata';
import { readBatch } from '@starlane/record-batch';
import type { StreamServer } from './network';
import type { SimNode, SimNodeEnvironment, SimProduceRequest, SimProduceResult, SimRecord, SimReplicaState } from './sim-node';

export interface ToyFetch {
  readonly nodeId: number;
  readonly nodeEpoch: number;
  readonly topicId: string;
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly fetchOffset: number;
  readonly previous?: string;
}
export type ToyAnswer = { fenced: true } | { truncateTo: number } | { records: { epoch: number; value: string }[]; highWatermark: number };

interface ToyPartition {
  readonly topicId: string;
  readonly partition: number;
  log: { epoch: number; value: string }[];
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  isr: readonly number[];
  minIsr: number;
  hw: number;
  followers: Map<number, number>;
  waiting: { offset: number; wake: () => void }[];
  fetching?: number;
  proposing: boolean;
}

const tickMs = 100;
const fetchIdleMs = 20;

/** Defects the simulator's own tests plant in the toy to show its checks catch them. */
export interface ToyDefects {
  /** Answers acks=all as soon as the leader has the records (before the ISR has them). */
  readonly ackBeforeReplicated?: boolean;
}

export function toyReplica(env: SimNodeEnvironment<ToyFetch, ToyAnswer>, defects: ToyDefects = {}): SimNode<ToyFetch, ToyAnswer> {
  const parts = new Map<string, ToyPartition>();
  let nodeEpoch = 0;
  let metadataVersion = 0;
  const key = (topicId: string, partition: number): string => `${topicId}-${partition}`;
  const file = (p: ToyPartition): string => joinPath(env.directory, `${key(p.topicId, p.partition)}.log`);
  const persist = (p: ToyPartition): Promise<void> => env.fs.writeFileAtomic(file(p), Buffer.from(p.log.map((r) => `${r.epoch} ${r.value}\n`).join('')));
  const isLeader = (p: ToyPartition): boolean => p.leader === env.nodeId;

  const advanceHw = (p: ToyPartition): void => {
    const ends = p.isr.map((id) => (id === env.nodeId ? p.log.length : (p.followers.get(id) ?? 0)));
    const hw = Math.min(...ends);
    if (hw > p.hw) p.hw = hw;
    for (const waiter of p.waiting.filter((w) => w.offset < p.hw)) waiter.wake();
    p.waiting = p.waiting.filter((w) => w.offset >= p.hw);
  };

  const register = (): void => {
    env.controller
      .call('register', (c) => c.registerNode({ nodeId: env.nodeId, incarnationId: `incarnation-${env.incarnation}`, clusterId: '', host: `node-${env.nodeId}`, port: 9092, rack: '', cleanShutdown: false }), 300)
      .then(
        (answer) => {
          nodeEpoch = answer.nodeEpoch;
          if (held !== undefined) applyMetadata(held);
          heartbeat();
        },
        () => env.scheduler.schedule(tickMs, register),
      );
  };
  const heartbeat = (): void => {
    env.controller
      .call('heartbeat', (c) => c.heartbeat({ nodeId: env.nodeId, nodeEpoch, metadataVersion }), 300)
      .catch((error: { code?: string }) => (error.code === 'STALE_BROKER_EPOCH' || error.code === 'BROKER_ID_NOT_REGISTERED' ? 'again' : undefined))
      .then((outcome) => (outcome === 'again' ? register() : env.scheduler.schedule(tickMs, heartbeat)), () => undefined);
  };

  const fetchLoop = (p: ToyPartition, leader: number): void => {
    p.fetching = leader;
    const stream = env.streams.open({ nodeId: leader });
    const next = (): void => {
      if (p.leader !== leader || p.fetching !== leader) {
        if (p.fetching === leader) p.fetching = undefined;
        return stream.close();
      }
      const request: ToyFetch = { nodeId: env.nodeId, nodeEpoch, topicId: p.topicId, partition: p.partition, leaderEpoch: p.leaderEpoch, fetchOffset: p.log.length, previous: p.log.at(-1)?.value };
      stream.fetch(request).then(
        async (answer) => {
          if ('fenced' in answer) return void env.scheduler.schedule(fetchIdleMs, next);
          if ('truncateTo' in answer) {
            p.log = p.log.slice(0, answer.truncateTo);
            p.hw = Math.min(p.hw, p.log.length);
            await persist(p);
            return next();
          }
          p.log.push(...answer.records);
          p.hw = Math.max(p.hw, Math.min(answer.highWatermark, p.log.length));
          if (answer.records.length > 0) await persist(p);
          env.scheduler.schedule(answer.records.length > 0 ? 0 : fetchIdleMs, next);
        },
        () => {
          if (p.fetching === leader) p.fetching = undefined;
          env.scheduler.schedule(fetchIdleMs, () => p.leader === leader && p.fetching === undefined && fetchLoop(p, leader));
        },
      );
    };
    next();
  };

  const proposeIsr = (p: ToyPartition, follower: number, followerEpoch: number): void => {
    if (p.proposing || p.isr.includes(follower)) return;
    p.proposing = true;
    const change = { topicId: p.topicId, partition: p.partition, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [...p.isr, follower].map((id) => ({ nodeId: id, nodeEpoch: id === follower ? followerEpoch : undefined })) };
    void env.controller
      .call('alter-partition', (c) => c.alterPartition({ nodeId: env.nodeId, nodeEpoch, partitions: [change] }), 500)
      .catch(() => undefined)
      .then(() => env.scheduler.schedule(tickMs, () => (p.proposing = false)));
  };

  const session: () => StreamServer<ToyFetch, ToyAnswer> = () => ({
    fetch: async (request) => {
      const p = parts.get(key(request.topicId, request.partition));
      if (p === undefined || !isLeader(p) || request.leaderEpoch !== p.leaderEpoch) return { fenced: true };
      if (request.fetchOffset > p.log.length || (request.fetchOffset > 0 && p.log[request.fetchOffset - 1]?.value !== request.previous)) {
        return { truncateTo: Math.min(request.fetchOffset - 1, p.log.length) };
      }
      p.followers.set(request.nodeId, request.fetchOffset);
      advanceHw(p);
      if (request.fetchOffset >= p.hw) proposeIsr(p, request.nodeId, request.nodeEpoch);
      return { records: p.log.slice(request.fetchOffset, request.fetchOffset + 50), highWatermark: p.hw };
    },
    close: () => undefined,
  });

  const produce = async (request: SimProduceRequest): Promise<SimProduceResult> => {
    const p = parts.get(key(request.topicId, request.partition));
    if (p === undefined || !isLeader(p)) return { error: { code: 'NOT_LEADER_OR_FOLLOWER', message: 'not the leader' } };
    if (request.acks === -1 && p.isr.length < p.minIsr) return { error: { code: 'NOT_ENOUGH_REPLICAS', message: 'ISR too small' } };
    const { records } = await readBatch(request.records);
    const epoch = p.leaderEpoch;
    const baseOffset = p.log.length;
    p.log.push(...records.map((r) => ({ epoch, value: r.value?.toString('utf8') ?? '' })));
    await persist(p);
    advanceHw(p);
    const done: SimProduceResult = { baseOffset: BigInt(baseOffset), logEndOffset: BigInt(p.log.length), leaderEpoch: epoch };
    if (request.acks !== -1 || p.hw > baseOffset || defects.ackBeforeReplicated === true) return done;
    return new Promise((resolve) => {
      const cancel = env.scheduler.schedule(request.timeoutMs, () => resolve({ error: { code: 'REQUEST_TIMED_OUT', message: 'acks=all timed out' } }));
      p.waiting.push({
        offset: baseOffset,
        wake: () => {
          cancel();
          resolve(isLeader(p) && p.leaderEpoch === epoch ? done : { error: { code: 'NOT_LEADER_OR_FOLLOWER', message: 'leadership moved' } });
        },
      });
    });
  };

  // Metadata from before this incarnation registered may still name it leader: held back until then.
  let held: MetadataImage | undefined;
  const applyMetadata = (image: MetadataImage): void => {
    metadataVersion = image.version;
    held = image;
    if (nodeEpoch === 0) return;
    for (const topic of image.topics.values()) {
      for (const state of topic.partitions) {
        if (!state.replicas.includes(env.nodeId)) continue;
        const k = key(topic.topicId, state.partition);
        let p = parts.get(k);
        if (p === undefined) {
          p = { topicId: topic.topicId, partition: state.partition, log: [], leader: noLeader, leaderEpoch: -1, partitionEpoch: -1, isr: [], minIsr: Number(topic.configs['min.insync.replicas'] ?? '1'), hw: 0, followers: new Map(), waiting: [], proposing: false };
          parts.set(k, p);
        }
        const epochChanged = state.leaderEpoch !== p.leaderEpoch;
        Object.assign(p, { leader: state.leader, leaderEpoch: state.leaderEpoch, partitionEpoch: state.partitionEpoch, isr: state.isr });
        if (epochChanged) {
          p.followers = new Map();
          for (const waiter of p.waiting.splice(0)) waiter.wake();
        }
        if (isLeader(p)) advanceHw(p);
        else if (state.leader !== noLeader && p.fetching !== state.leader) fetchLoop(p, state.leader);
      }
    }
  };

  return {
    async start() {
      await env.fs.makeDirectory(env.directory);
      for (const name of await env.fs.list(env.directory)) {
        const text = (await env.fs.readFile(joinPath(env.directory, name)))?.toString('utf8') ?? '';
        const [topicId, partition] = [name.slice(0, name.lastIndexOf('-')), Number(name.slice(name.lastIndexOf('-') + 1, -'.log'.length))];
        const log = text.split('\n').slice(0, -1).map((line) => ({ epoch: Number(line.slice(0, line.indexOf(' '))), value: line.slice(line.indexOf(' ') + 1) }));
        parts.set(key(topicId, partition), { topicId, partition, log, leader: noLeader, leaderEpoch: -1, partitionEpoch: -1, isr: [], minIsr: 1, hw: 0, followers: new Map(), waiting: [], proposing: false });
      }
      register();
    },
    applyMetadata,
    get metadataVersion() {
      return metadataVersion;
    },
    openFetchSession: session,
    produce,
    latestOffset(topicId, partition) {
      const p = parts.get(key(topicId, partition));
      if (p === undefined || !isLeader(p)) return { error: { code: 'NOT_LEADER_OR_FOLLOWER', message: 'not the leader' } };
      return { offset: BigInt(p.hw), leaderEpoch: p.leaderEpoch };
    },
    replicas(): SimReplicaState[] {
      return [...parts.values()].map((p) => ({
        topicId: p.topicId,
        partition: p.partition,
        leaderEpoch: p.leaderEpoch,
        isLeader: isLeader(p),
        highWatermark: BigInt(p.hw),
        logStartOffset: 0n,
        logEndOffset: BigInt(p.log.length),
      }));
    },
    async readRecords(topicId, partition, fromOffset): Promise<SimRecord[]> {
      const p = parts.get(key(topicId, partition));
      return (p?.log ?? []).map((r, i) => ({ offset: BigInt(i), value: r.value })).filter((r) => r.offset >= fromOffset);
    },
    async close() {
      for (const p of parts.values()) p.fetching = undefined;
    },
  };
}
