/**
 * The fault run: a cluster of three etcd-backed controllers, three storage nodes and a gateway,
 * one topic with replication factor 3 and min.insync.replicas 2, and one acks=all producer per
 * partition. Phases alternate (faults.ts): while producers write, a partition leader is
 * SIGKILLed, a follower SIGSTOPped past the lag limit, or the active controller SIGKILLed, in
 * turn; while they pause (nothing written at all), a leader is SIGTERMed and restarted, the
 * controller's preferred-leader balancing moves leadership back, and that idle leader is
 * SIGSTOPped until it loses leadership. A run injects every fault under load at least once.
 *
 * Once faults stop, the liveness check (liveness.ts) asks that the cluster heal: whole ISRs
 * within a bound, no process busy, no under-replicated partition on the nodes' metrics. Then the
 * whole topic is read back. Every producer request carries values never used before, so the
 * verdict needs no guessing:
 * - lost: an acknowledged value missing at the offset it was acknowledged at;
 * - duplicates: a value stored more than once (the broker wrote it twice);
 * - unexpected: a stored value that was never sent.
 * Requests that failed or went unanswered may or may not be stored; either is allowed.
 * Failover time is measured per leader kill, from the kill to the acknowledgement of the first
 * request sent on that partition after it.
 */
import { seededRandom, startCluster, type TestCluster } from '@starlane/testing';
import { publicClients, type PublicClients } from './clients';
import { churnIdleLeadership, injectWriteFault, writeFaultKinds, type FaultContext } from './faults';
import { checkLiveness, livenessBoundsDefault, type LivenessBounds, type LivenessResult } from './liveness';
import { Producer, type Ack } from './producer';
import { createTopic, readPartition } from './workload';

export interface ChaosOptions {
  /** How long faults are injected (at least one of each kind under load is, however long that takes). */
  readonly durationMs: number;
  readonly partitions?: number;
  /** Records per produce request. */
  readonly recordsPerRequest?: number;
  readonly seed?: number;
  readonly liveness?: LivenessBounds;
  readonly progress?: (message: string) => void;
}

export interface ChaosResult {
  readonly acked: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly unexpected: number;
  readonly faults: number;
  /** Phases with no writes (each with its leadership churn). */
  readonly idlePhases: number;
  readonly failoverMsP50: number;
  readonly failoverMsMax: number;
  readonly stored: number;
  readonly failedRequests: number;
  readonly faultLog: readonly string[];
  readonly liveness: LivenessResult;
}

const topic = 'chaos';

/** How long producers write in a write phase before its fault, so new leaders write in their epochs. */
const writeLeadMs = 1_000;
/** How long a run goes on trying to choose a victim for its next fault before it ends. */
const faultlessMsMax = 60_000;
/** Controller settings that make each fault play out within seconds. */
const controllerArgs = [
  '--node-heartbeat-interval-ms=250',
  '--node-session-timeout-ms=2000',
  // Preferred-leader balancing every second (Kafka checks every 5 minutes), so idle phases see it.
  '--leader-imbalance-check-interval-ms=1000',
];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] as number;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const progress = options.progress ?? (() => undefined);
  const partitions = options.partitions ?? 3;
  const cluster: TestCluster = await startCluster({
    storageNodes: 3,
    controllers: 3,
    metadataStore: 'etcd',
    controllerArgs,
    // A short lag limit, so a paused follower leaves the ISR within seconds.
    storageNodeArgs: ['--replica-lag-time-max-ms=2000'],
    readyTimeoutMs: 60_000,
  });
  const clients = publicClients(cluster.gatewayAddress);
  const faultLog: string[] = [];
  const acks: Ack[] = [];
  const context: FaultContext = {
    cluster,
    topic,
    partitions,
    // The same seed picks the same victims in the same order.
    next: seededRandom(options.seed ?? 1),
    fault: (line) => {
      faultLog.push(`${new Date().toISOString()} ${line}`);
      progress(faultLog[faultLog.length - 1] as string);
    },
    progress,
    stopped: new Set<number>(),
    leaderKills: [],
  };
  try {
    await cluster.waitForActiveNodes(3);
    await cluster.waitForActiveController();
    await createTopic(clients, topic, partitions, { 'min.insync.replicas': '2' }, 3);
    await cluster.waitForLeaders(topic);
    const producers = Array.from({ length: partitions }, (_, partition) => new Producer(clients, partition, options.recordsPerRequest ?? 5, acks, topic));
    const running = producers.map((producer) => producer.run());
    progress(`producing to ${partitions} partitions with acks=all; injecting faults for ${Math.round(options.durationMs / 1000)} s`);
    const idlePhases = await injectFaults(context, producers, options.durationMs);
    const faultsEndedAtMs = Date.now();
    for (const producer of producers) producer.stop();
    await Promise.all(running);

    progress('faults over; checking that the cluster heals');
    const liveness = await checkLiveness(cluster, clients, topic, faultsEndedAtMs, options.liveness ?? livenessBoundsDefault);
    progress(`liveness: isr ${liveness.isr.ok ? 'ok' : 'FAILED'}, busy ${liveness.busy.ok ? 'ok' : 'FAILED'}, under-replicated ${liveness.underReplicated.ok ? 'ok' : 'FAILED'}`);
    for (const problem of [...liveness.isr.short, ...liveness.busy.problems, ...liveness.underReplicated.problems]) progress(`  ${problem}`);

    const stored = await readBack(clients, partitions);
    const sent = new Set<string>();
    for (const producer of producers) for (const value of producer.sent) sent.add(value);
    const failovers = context.leaderKills.flatMap(({ partition, atMs }) => {
      // A request sent before the kill may have been answered by the old leader on its way out.
      const first = acks.find((ack) => ack.partition === partition && ack.sentAtMs > atMs);
      return first === undefined ? [] : [first.atMs - atMs];
    });
    return {
      acked: acks.length,
      ...verdict(acks, stored, sent),
      faults: faultLog.length,
      idlePhases,
      failoverMsP50: percentile(failovers, 0.5),
      failoverMsMax: failovers.length === 0 ? 0 : Math.max(...failovers),
      stored: stored.length,
      failedRequests: producers.reduce((sum, producer) => sum + producer.failedRequests, 0),
      faultLog,
      liveness,
    };
  } finally {
    for (const id of context.stopped) cluster.storageNode(id).child.kill('SIGCONT');
    clients.close();
    await cluster.stop();
  }
}

/**
 * Alternates write phases (one fault under load) and idle phases (producers paused, leadership
 * churn), until `durationMs` is over and every write fault has run once. Returns the number of
 * idle phases.
 */
async function injectFaults(context: FaultContext, producers: readonly Producer[], durationMs: number): Promise<number> {
  const endMs = Date.now() + durationMs;
  let writeFaults = 0;
  let idlePhases = 0;
  let injectedAtMs = Date.now();
  for (;;) {
    // Victims that cannot be chosen (no leader, no active controller) must not keep a run going forever.
    if (Date.now() - injectedAtMs >= faultlessMsMax) return idlePhases;
    await sleep(writeLeadMs);
    const kind = writeFaultKinds[writeFaults % writeFaultKinds.length] as (typeof writeFaultKinds)[number];
    if (!(await injectWriteFault(context, kind))) {
      await sleep(500);
      continue;
    }
    injectedAtMs = Date.now();
    writeFaults += 1;
    if (Date.now() >= endMs && writeFaults >= writeFaultKinds.length) return idlePhases;
    await Promise.all(producers.map((producer) => producer.pause()));
    context.progress('idle phase: producers paused');
    if (await churnIdleLeadership(context)) idlePhases += 1;
    for (const producer of producers) producer.resume();
    context.progress('write phase: producers resumed');
  }
}

type Stored = { readonly partition: number; readonly offset: bigint; readonly value: string };

/** Every record of every partition of the topic. */
async function readBack(clients: PublicClients, partitions: number): Promise<Stored[]> {
  const stored: Stored[] = [];
  for (let partition = 0; partition < partitions; partition += 1) {
    for (const record of await readPartition(clients, topic, partition, { deadlineMs: 60_000 })) stored.push({ partition, offset: record.offset, value: record.value ?? '' });
  }
  return stored;
}

/** What the read-back shows against what was acknowledged and sent (see the file comment). */
function verdict(acks: readonly Ack[], stored: readonly Stored[], sent: ReadonlySet<string>): { lost: number; duplicates: number; unexpected: number } {
  const at = new Map(stored.map((record) => [`${record.partition}:${record.offset}`, record.value]));
  const counts = new Map<string, number>();
  for (const record of stored) counts.set(record.value, (counts.get(record.value) ?? 0) + 1);
  return {
    lost: acks.filter((ack) => at.get(`${ack.partition}:${ack.offset}`) !== ack.value).length,
    duplicates: [...counts.values()].filter((count) => count > 1).length,
    unexpected: stored.filter((record) => !sent.has(record.value)).length,
  };
}
