/**
 * Simulated clients: producers that write uniquely identifiable records with acks 0, 1 or all,
 * and readers that ask the leader for LATEST (the high watermark, as ListOffsets answers it).
 * Clients find leaders in the controller's latest image, as a client that refreshes its
 * metadata would; they never crash (client faults are not what is under test) but their
 * messages cross the same faulty network.
 *
 * A producer never retries a record: every value is written at most once, so a record found
 * at two offsets, or at another offset than acknowledged, is a defect of the cluster.
 */
import { buildBatch } from '@starlane/record-batch';
import type { MetadataImage } from '@starlane/metadata';
import { checkMonotonicLatest, partitionKey, type AcknowledgedWrite, type LatestObservation } from './checks';
import type { SimNetwork } from './network';
import { nodeEndpoint } from './node-host';
import type { SimLatestOffset, SimNode, SimProduceResult } from './sim-node';
import { HostScheduler, type SimScheduler } from './sim-time';
import type { SimTrace } from './trace';

/** How long a produce request may wait for acks=all at the leader (request.timeout.ms, scaled down). */
export const produceTimeoutMs = 1000;
/** Extra time the client's deadline allows over the server's timeout for the network. */
export const clientDeadlineMarginMs = 200;

const ackChoices: readonly (0 | 1 | -1)[] = [0, 1, -1];

export interface ClientSettings {
  readonly producers: number;
  readonly readers: number;
  /** Mean time between two requests of one client. */
  readonly requestIntervalMs: number;
  /** Records per client at most: bounds the logs the checks read. */
  readonly requestsMax: number;
}

export const clientSettingsDefault: ClientSettings = { producers: 2, readers: 1, requestIntervalMs: 40, requestsMax: 200 };

export interface ClientTarget {
  readonly topicId: string;
  readonly partition: number;
}

export interface ClientStats {
  produced: number;
  acknowledged: number;
  acknowledgedAll: number;
  failed: number;
  reads: number;
}

export class SimClients<Req, Res> {
  /** acks=all writes the cluster acknowledged: the ledger the safety check holds it to. */
  readonly ledger: AcknowledgedWrite[] = [];
  readonly violations: string[] = [];
  readonly stats: ClientStats = { produced: 0, acknowledged: 0, acknowledgedAll: 0, failed: 0, reads: 0 };
  private readonly lastLatest = new Map<string, LatestObservation>();

  constructor(
    private readonly scheduler: SimScheduler,
    private readonly network: SimNetwork,
    private readonly trace: SimTrace,
    private readonly random: () => number,
    private readonly image: () => MetadataImage | undefined,
    private readonly node: (nodeId: number) => SimNode<Req, Res> | undefined,
    private readonly targets: () => readonly ClientTarget[],
    private readonly settings: ClientSettings = clientSettingsDefault,
  ) {}

  start(): void {
    for (let i = 0; i < this.settings.producers; i++) this.run(`producer-${i}`, (name, seq) => this.produceOne(name, seq));
    for (let i = 0; i < this.settings.readers; i++) this.run(`reader-${i}`, (name) => this.readOne(name));
  }

  private run(name: string, request: (name: string, seq: number) => Promise<void>): void {
    const host = new HostScheduler(this.scheduler);
    this.network.attach(name, host);
    let seq = 0;
    const next = (): void => {
      if (seq >= this.settings.requestsMax) return;
      const waitMs = 1 + Math.floor(this.random() * this.settings.requestIntervalMs * 2);
      host.schedule(waitMs, () => {
        void request(name, seq++).finally(next);
      });
    };
    next();
  }

  private leaderOf(target: ClientTarget): number | undefined {
    const image = this.image();
    if (image === undefined) return undefined;
    for (const topic of image.topics.values()) if (topic.topicId === target.topicId) return topic.partitions[target.partition]?.leader;
    return undefined;
  }

  private pick(): ClientTarget | undefined {
    const targets = this.targets();
    return targets.length === 0 ? undefined : targets[Math.floor(this.random() * targets.length)];
  }

  private async produceOne(client: string, seq: number): Promise<void> {
    const target = this.pick();
    const leader = target === undefined ? undefined : this.leaderOf(target);
    if (target === undefined || leader === undefined || leader < 0) return;
    const acks = ackChoices[Math.floor(this.random() * ackChoices.length)] ?? -1;
    const value = `${client}/${partitionKey(target.topicId.slice(0, 8), target.partition)}/${seq}`;
    const records = await buildBatch([{ key: Buffer.from(client), value: Buffer.from(value), headers: [], timestamp: 1_700_000_000_000n + BigInt(seq) }]);
    this.stats.produced += 1;
    const request = { topicId: target.topicId, partition: target.partition, records, acks, timeoutMs: produceTimeoutMs };
    let result: SimProduceResult;
    try {
      result = await this.network.unary(
        client,
        nodeEndpoint(leader),
        'produce',
        () => {
          const node = this.node(leader);
          return node === undefined ? Promise.reject(new Error('node down')) : node.produce(request);
        },
        produceTimeoutMs + clientDeadlineMarginMs,
      );
    } catch {
      this.stats.failed += 1;
      return;
    }
    if ('error' in result) {
      this.stats.failed += 1;
      return;
    }
    this.stats.acknowledged += 1;
    if (acks !== -1) return;
    this.stats.acknowledgedAll += 1;
    this.ledger.push({ topicId: target.topicId, partition: target.partition, offset: result.baseOffset, value, leaderEpoch: result.leaderEpoch });
    this.trace.record(`${client} acks=all ${value} at ${partitionKey(target.topicId.slice(0, 8), target.partition)}@${result.baseOffset} (epoch ${result.leaderEpoch}, leader ${leader})`);
  }

  private async readOne(client: string): Promise<void> {
    const target = this.pick();
    const leader = target === undefined ? undefined : this.leaderOf(target);
    if (target === undefined || leader === undefined || leader < 0) return;
    let answer: SimLatestOffset;
    try {
      answer = await this.network.unary(
        client,
        nodeEndpoint(leader),
        'list-offsets',
        async () => {
          const node = this.node(leader);
          if (node === undefined) throw new Error('node down');
          return node.latestOffset(target.topicId, target.partition);
        },
        produceTimeoutMs,
      );
    } catch {
      return;
    }
    if ('error' in answer) return;
    this.stats.reads += 1;
    const observation: LatestObservation = { client, topicId: target.topicId, partition: target.partition, leaderEpoch: answer.leaderEpoch, offset: answer.offset };
    const key = `${client}|${partitionKey(target.topicId, target.partition)}`;
    const violation = checkMonotonicLatest(this.lastLatest.get(key), observation);
    if (violation !== undefined) this.violations.push(violation);
    const previous = this.lastLatest.get(key);
    if (previous === undefined || answer.leaderEpoch >= previous.leaderEpoch) this.lastLatest.set(key, observation);
  }
}
