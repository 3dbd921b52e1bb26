/**
 * The fault run: a cluster of three etcd-backed controllers, three storage nodes and a gateway,
 * one topic with replication factor 3 and min.insync.replicas 2, and one producer per partition
 * writing acks=all without pause. Meanwhile faults are injected in turn: SIGKILL of a partition
 * leader (restarted shortly after), SIGSTOP of a follower long enough for the ISR to shrink
 * (then SIGCONT, and it rejoins), and SIGKILL of the active controller (restarted too).
 *
 * Afterwards every process runs again and the whole topic is read back. Every producer request
 * carries values never used before, so the verdict needs no guessing:
 * - lost: an acknowledged value missing at the offset it was acknowledged at;
 * - duplicates: a value stored more than once (the broker wrote it twice);
 * - unexpected: a stored value that was never sent.
 * Requests that failed or went unanswered may or may not be stored; either is allowed.
 * Failover time is measured per leader kill, from the kill to the first acknowledgement on that
 * partition after it.
 */
import * as grpc from '@grpc/grpc-js';
import { v1 } from '@starlane/proto';
import { seededRandom, startCluster, type TestCluster } from '@starlane/testing';
import { publicClients, type PublicClients } from './clients';
import { createTopic, readPartition } from './workload';

export interface ChaosOptions {
  /** How long producers run while faults are injected. */
  readonly durationMs: number;
  readonly partitions?: number;
  /** Records per produce request. */
  readonly recordsPerRequest?: number;
  readonly seed?: number;
  readonly progress?: (message: string) => void;
}

export interface ChaosResult {
  readonly acked: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly unexpected: number;
  readonly faults: number;
  readonly failoverMsP50: number;
  readonly failoverMsMax: number;
  readonly stored: number;
  readonly failedRequests: number;
  readonly faultLog: readonly string[];
}

const topic = 'chaos';

export interface Ack {
  readonly partition: number;
  readonly offset: bigint;
  readonly value: string;
  readonly atMs: number;
}


const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One producer: one request at a time on its own partition, so acknowledgements come in send order. */
export class Producer {
  private sequence = 0;
  private stopped = false;
  readonly sent = new Set<string>();
  failedRequests = 0;

  constructor(
    private readonly clients: PublicClients,
    readonly partition: number,
    private readonly recordsPerRequest: number,
    private readonly acks: Ack[],
    private readonly topicName = topic,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      const values = Array.from({ length: this.recordsPerRequest }, () => `${this.topicName}-p${this.partition}-${this.sequence++}`);
      for (const value of values) this.sent.add(value);
      const result = await this.produce(values);
      if (result === undefined) {
        this.failedRequests += 1;
        await sleep(50);
        continue;
      }
      const atMs = Date.now();
      values.forEach((value, index) => this.acks.push({ partition: this.partition, offset: result + BigInt(index), value, atMs }));
    }
  }

  /** The base offset on success; undefined when the request failed or its outcome is unknown. */
  private produce(values: readonly string[]): Promise<bigint | undefined> {
    return new Promise((resolve) => {
      this.clients.producer.produce(
        {
          acks: v1.Acks.ALL,
          timeoutMs: 10_000,
          partitions: [
            {
              topic: this.topicName,
              partition: this.partition,
              payload: {
                $case: 'records',
                value: {
                  records: values.map((value) => ({
                    nullableKey: undefined,
                    nullableValue: { $case: 'value', value: Buffer.from(value) },
                    headers: [],
                    timestampMs: 0n,
                    offset: 0n,
                    timestampType: v1.TimestampType.UNSPECIFIED,
                    leaderEpoch: 0,
                  })),
                  producer: undefined,
                  baseSequence: 0,
                },
              },
            },
          ],
        },
        new grpc.Metadata(),
        { deadline: Date.now() + 15_000 },
        (error: grpc.ServiceError | null, response?: v1.ProduceResponse) => {
          const result = response?.partitions[0];
          resolve(error === null && result !== undefined && result.errorCode === v1.ErrorCode.NONE ? result.baseOffset : undefined);
        },
      );
    });
  }
}

function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] as number;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const progress = options.progress ?? (() => undefined);
  const partitions = options.partitions ?? 3;
  // The same seed picks the same victims in the same order.
  const next = seededRandom(options.seed ?? 1);
  const cluster: TestCluster = await startCluster({
    storageNodes: 3,
    controllers: 3,
    metadataStore: 'etcd',
    // Short sessions and lag limits, so each fault plays out within seconds.
    controllerArgs: ['--node-heartbeat-interval-ms=250', '--node-session-timeout-ms=2000'],
    storageNodeArgs: ['--replica-lag-time-max-ms=2000'],
    readyTimeoutMs: 60_000,
  });
  const clients = publicClients(cluster.gatewayAddress);
  const faultLog: string[] = [];
  const leaderKills: { partition: number; atMs: number }[] = [];
  const acks: Ack[] = [];
  const stopped = new Set<number>();
  try {
    await cluster.waitForActiveNodes(3);
    await cluster.waitForActiveController();
    await createTopic(clients, topic, partitions, { 'min.insync.replicas': '2' }, 3);
    await cluster.waitForLeaders(topic);
    const producers = Array.from({ length: partitions }, (_, partition) => new Producer(clients, partition, options.recordsPerRequest ?? 5, acks));
    const running = producers.map((producer) => producer.run());
    progress(`producing to ${partitions} partitions with acks=all; injecting faults for ${Math.round(options.durationMs / 1000)} s`);

    const endMs = Date.now() + options.durationMs;
    const kinds = ['kill-leader', 'pause-follower', 'kill-controller'] as const;
    for (let round = 0; Date.now() < endMs; round += 1) {
      const kind = kinds[round % kinds.length] as (typeof kinds)[number];
      const image = cluster.metadata().current();
      const partition = Math.floor(next() * partitions);
      const state = image.topics.get(topic)?.partitions[partition];
      if (kind === 'kill-leader') {
        if (state === undefined || state.leader < 0) {
          await sleep(500);
          continue;
        }
        const name = `storage-node-${state.leader}`;
        const atMs = Date.now();
        await cluster.kill(name, 'SIGKILL');
        leaderKills.push({ partition, atMs });
        faultLog.push(`${new Date(atMs).toISOString()} SIGKILL ${name} (leader of ${topic}-${partition})`);
        progress(faultLog[faultLog.length - 1] as string);
        await sleep(1_500 + Math.floor(next() * 1_000));
        await cluster.start(name);
        await sleep(2_000);
      } else if (kind === 'pause-follower') {
        const followers = state?.replicas.filter((id) => id !== state.leader) ?? [];
        const victim = followers[Math.floor(next() * followers.length)];
        if (victim === undefined) continue;
        const child = cluster.storageNode(victim).child;
        child.kill('SIGSTOP');
        stopped.add(victim);
        faultLog.push(`${new Date().toISOString()} SIGSTOP storage-node-${victim} (follower of ${topic}-${partition})`);
        progress(faultLog[faultLog.length - 1] as string);
        await sleep(4_000);
        child.kill('SIGCONT');
        stopped.delete(victim);
        await sleep(2_500);
      } else {
        const name = cluster.activeControllerName();
        if (name === undefined) {
          await sleep(500);
          continue;
        }
        await cluster.kill(name, 'SIGKILL');
        faultLog.push(`${new Date().toISOString()} SIGKILL ${name} (active controller)`);
        progress(faultLog[faultLog.length - 1] as string);
        await sleep(1_000);
        await cluster.start(name);
        await sleep(1_500);
      }
    }

    for (const producer of producers) producer.stop();
    await Promise.all(running);
    progress('faults over; waiting for every replica to be back in sync');
    await cluster.metadata().waitFor((current) => current.topics.get(topic)?.partitions.every((state) => state.isr.length === 3 && state.leader >= 0) === true, 60_000);

    const stored: { partition: number; offset: bigint; value: string }[] = [];
    for (let partition = 0; partition < partitions; partition += 1) {
      for (const record of await readPartition(clients, topic, partition, { deadlineMs: 60_000 })) stored.push({ partition, offset: record.offset, value: record.value ?? '' });
    }
    const sent = new Set<string>();
    for (const producer of producers) for (const value of producer.sent) sent.add(value);
    const at = new Map(stored.map((record) => [`${record.partition}:${record.offset}`, record.value]));
    const counts = new Map<string, number>();
    for (const record of stored) counts.set(record.value, (counts.get(record.value) ?? 0) + 1);
    const lost = acks.filter((ack) => at.get(`${ack.partition}:${ack.offset}`) !== ack.value).length;
    const duplicates = [...counts.values()].filter((count) => count > 1).length;
    const unexpected = stored.filter((record) => !sent.has(record.value)).length;
    const failovers = leaderKills.flatMap(({ partition, atMs }) => {
      const first = acks.find((ack) => ack.partition === partition && ack.atMs > atMs);
      return first === undefined ? [] : [first.atMs - atMs];
    });
    return {
      acked: acks.length,
      lost,
      duplicates,
      unexpected,
      faults: faultLog.length,
      failoverMsP50: percentile(failovers, 0.5),
      failoverMsMax: failovers.length === 0 ? 0 : Math.max(...failovers),
      stored: stored.length,
      failedRequests: producers.reduce((sum, producer) => sum + producer.failedRequests, 0),
      faultLog,
    };
  } finally {
    for (const id of stopped) cluster.storageNode(id).child.kill('SIGCONT');
    clients.close();
    await cluster.stop();
  }
}
