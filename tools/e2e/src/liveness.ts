/**
 * The liveness check that closes a fault run. Losing nothing is not enough: a cluster can keep
 * every acknowledged record and still never heal (a replica outside the ISR for good, a
 * process spinning on the same answer). Once faults stop, three things must hold:
 * - isr: every partition is back to its full replica set in the ISR, with a leader, within
 *   `isrRestoredMsMax` (read with DescribeTopics through the gateway, as an operator would);
 * - busy: no process uses more than `busyCpuFractionMax` of a core over `cpuWindowMs`
 *   (`process_cpu_seconds_total` from each process's /metrics): a liveness check for loops
 *   that never wait, not a performance goal;
 * - underReplicated: every storage node exports `starlane_storage_under_replicated_partitions`
 *   (Kafka's UnderReplicatedPartitions) and it reads 0 on all of them within
 *   `underReplicatedSettleMsMax` of the ISR being whole.
 */
import { metricValue, scrapeMetrics, type MetricSample, type TestCluster } from '@starlane/testing';
import { v1 } from '@starlane/proto';
import { attempt, type PublicClients } from './clients';

export interface LivenessBounds {
  /** From the end of faults until every partition's ISR is its whole replica set. */
  readonly isrRestoredMsMax: number;
  /** How long each process's CPU use is measured. */
  readonly cpuWindowMs: number;
  /** CPU a settled process may use, in cores (1 = one core busy all the time). */
  readonly busyCpuFractionMax: number;
  /** From the ISR being whole until every node's under-replicated count reads 0. */
  readonly underReplicatedSettleMsMax: number;
}

export const livenessBoundsDefault: LivenessBounds = {
  // Kafka's replica.lag.time.max.ms is 30 s: a replica that has not caught up by then never will.
  isrRestoredMsMax: 30_000,
  cpuWindowMs: 5_000,
  busyCpuFractionMax: 0.2,
  underReplicatedSettleMsMax: 10_000,
};

export const underReplicatedMetric = 'starlane_storage_under_replicated_partitions';

/** How often the ISR and the metric are read while waiting. */
const pollIntervalMs = 250;
/** Deadline of one DescribeTopics call or one /metrics scrape. */
const requestTimeoutMs = 5_000;

export interface IsrCheck {
  readonly ok: boolean;
  readonly boundMs: number;
  /** How long after the faults every ISR was whole; undefined when it was not within the bound. */
  readonly restoredMs: number | undefined;
  /** At the bound: each partition short of its replicas, and what the missing replicas last logged. */
  readonly short: readonly string[];
}

export interface BusyCheck {
  readonly ok: boolean;
  readonly windowMs: number;
  readonly cpuFractionMax: number;
  /** Cores used over the window, per process. */
  readonly cpuFraction: Readonly<Record<string, number>>;
  /** Processes over the bound or whose CPU could not be read. */
  readonly problems: readonly string[];
}

export interface UnderReplicatedCheck {
  readonly ok: boolean;
  readonly boundMs: number;
  /** Each storage node's last reading; null where the metric is missing. */
  readonly byNode: Readonly<Record<string, number | null>>;
  readonly problems: readonly string[];
}

export interface LivenessResult {
  readonly ok: boolean;
  readonly isr: IsrCheck;
  readonly busy: BusyCheck;
  readonly underReplicated: UnderReplicatedCheck;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the three checks in turn; `faultsEndedAtMs` (wall clock) is when the last fault was undone. */
export async function checkLiveness(cluster: TestCluster, clients: PublicClients, topic: string, faultsEndedAtMs: number, bounds: LivenessBounds = livenessBoundsDefault): Promise<LivenessResult> {
  const isr = await checkIsr(cluster, clients, topic, faultsEndedAtMs, bounds.isrRestoredMsMax);
  const busy = await checkBusy(cluster, bounds.cpuWindowMs, bounds.busyCpuFractionMax);
  const underReplicated = await checkUnderReplicated(cluster, bounds.underReplicatedSettleMsMax);
  return { ok: isr.ok && busy.ok && underReplicated.ok, isr, busy, underReplicated };
}

/** Waits until every partition of `topic` has a leader and its whole replica set in the ISR, at most `boundMs` after `startMs`. */
export async function checkIsr(cluster: TestCluster, clients: PublicClients, topic: string, startMs: number, boundMs: number): Promise<IsrCheck> {
  let short: string[] = [`${topic}: not described yet`];
  for (;;) {
    const { response, error } = await attempt(clients.admin, clients.admin.describeTopics, { topics: [topic], topicIds: [], includeConfigs: false }, requestTimeoutMs);
    const description = response?.topics[0];
    if (description === undefined || description.errorCode !== v1.ErrorCode.NONE) short = [`${topic}: DescribeTopics failed: ${error?.details ?? description?.errorMessage ?? 'no answer'}`];
    else short = description.partitions.filter((partition) => partition.leaderId < 0 || !sameMembers(partition.isr, partition.replicas)).map((partition) => describeShort(cluster, topic, partition));
    if (short.length === 0) return { ok: true, boundMs, restoredMs: Date.now() - startMs, short };
    if (Date.now() - startMs >= boundMs) return { ok: false, boundMs, restoredMs: undefined, short };
    await sleep(pollIntervalMs);
  }
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

/** "chaos-1: leader 2, isr [2,1] of replicas [3,1,2]; storage-node-3: 2000 of its last 2000 log lines say '…'". */
function describeShort(cluster: TestCluster, topic: string, partition: v1.PartitionInfo): string {
  const missing = partition.replicas.filter((id) => !partition.isr.includes(id));
  const nodes = missing.map((id) => `storage-node-${id}: ${lastLogged(cluster, id)}`);
  return [`${topic}-${partition.partition}: leader ${partition.leaderId}, isr [${partition.isr.join(',')}] of replicas [${partition.replicas.join(',')}]`, ...nodes].join('; ');
}

/** The node's last log message and how many of its retained lines repeat it (a loop shows as all of them). */
function lastLogged(cluster: TestCluster, nodeId: number): string {
  const messages = cluster
    .storageNode(nodeId)
    .stdoutLines()
    .map((line) => {
      try {
        return String((JSON.parse(line) as { msg?: unknown }).msg ?? '');
      } catch {
        return line;
      }
    });
  const last = messages[messages.length - 1];
  if (last === undefined) return 'nothing logged';
  return `${messages.filter((message) => message === last).length} of its last ${messages.length} log lines say '${last}'`;
}

/** Measures every process's CPU over one window; each must stay under the bound. */
export async function checkBusy(cluster: TestCluster, windowMs: number, cpuFractionMax: number): Promise<BusyCheck> {
  const names = cluster.memberNames;
  const before = await Promise.all(names.map((name) => cpuSeconds(cluster, name)));
  const startMs = performance.now();
  await sleep(windowMs);
  const after = await Promise.all(names.map((name) => cpuSeconds(cluster, name)));
  const elapsedSeconds = (performance.now() - startMs) / 1000;
  const cpuFraction: Record<string, number> = {};
  const problems: string[] = [];
  names.forEach((name, index) => {
    const start = before[index];
    const end = after[index];
    if (start === undefined || end === undefined) {
      problems.push(`${name}: process_cpu_seconds_total could not be read`);
      return;
    }
    const fraction = Math.round(((end - start) / elapsedSeconds) * 1000) / 1000;
    cpuFraction[name] = fraction;
    if (fraction > cpuFractionMax) problems.push(`${name}: ${fraction} of a core over ${windowMs} ms with nothing to do (bound ${cpuFractionMax})`);
  });
  return { ok: problems.length === 0, windowMs, cpuFractionMax, cpuFraction, problems };
}

async function cpuSeconds(cluster: TestCluster, name: string): Promise<number | undefined> {
  const samples = await scrape(cluster, name);
  return samples === undefined ? undefined : metricValue(samples, 'process_cpu_seconds_total');
}

/** Waits until every storage node reports no under-replicated partition; a node without the metric fails at once. */
export async function checkUnderReplicated(cluster: TestCluster, boundMs: number): Promise<UnderReplicatedCheck> {
  const startMs = Date.now();
  for (;;) {
    const byNode: Record<string, number | null> = {};
    const problems: string[] = [];
    let missing = false;
    for (const id of cluster.storageNodeIds) {
      const name = `storage-node-${id}`;
      const samples = await scrape(cluster, name);
      const count = samples === undefined ? undefined : metricValue(samples, underReplicatedMetric);
      if (count === undefined) {
        byNode[name] = null;
        missing = true;
        problems.push(samples === undefined ? `${name}: /metrics could not be read` : `${name} does not export ${underReplicatedMetric}`);
        continue;
      }
      byNode[name] = count;
      if (count !== 0) problems.push(`${name}: ${underReplicatedMetric} reads ${count}`);
    }
    if (problems.length === 0) return { ok: true, boundMs, byNode, problems };
    // A metric that is not exported will not appear by waiting.
    if (missing || Date.now() - startMs >= boundMs) return { ok: false, boundMs, byNode, problems };
    await sleep(pollIntervalMs);
  }
}

async function scrape(cluster: TestCluster, name: string): Promise<MetricSample[] | undefined> {
  try {
    const { metricsAddress } = await cluster.process(name).ready;
    return await scrapeMetrics(metricsAddress, requestTimeoutMs);
  } catch {
    return undefined;
  }
}
