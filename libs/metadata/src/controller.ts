/**
 * The active controller: owns the metadata state, runs commands one at a time, records their
 * records in the store, and publishes each applied batch as a delta.
 *
 * Order of a change: compute records from the current state (pure commands) → apply them to a
 * copy of the state (which checks them) → append to the store (durable) → adopt the new state
 * → answer and publish. A command that fails before the append changes nothing; an append that
 * fails leaves the controller refusing further changes (STORAGE_UNAVAILABLE), since what the
 * store holds is then unknown until it is reloaded.
 *
 * Node sessions (last heartbeat times) are soft state, as in Kafka: not recorded. After a
 * restart every node that was not fenced gets a full session timeout to heartbeat again.
 */
import { StarlaneError, assert } from '@starlane/model';
import type { Clock } from '@starlane/io-ports';
import { type CommandOutcome, type NodeSessions } from './commands';
import { controlledShutdown, fenceExpiredNodes, heartbeat, registerNode, type ControlledShutdownResult, type HeartbeatInput, type HeartbeatResult, type RegisterNodeInput } from './node-commands';
import { alterPartition, electPreferredLeaders, reassignPartitions, type AlterPartitionInput, type AlterPartitionResult, type PartitionReassignmentInput, type PartitionReassignmentResult, type PreferredLeadersResult } from './partition-commands';
import { allocateProducerIds } from './producer-id-commands';
import {
  alterTopicConfigs,
  createPartitions,
  createTopics,
  deleteTopics,
  type ConfigChangeInput,
  type CreateTopicResult,
  type DeleteTopicResult,
  type NewPartitionsInput,
  type NewTopicInput,
  type TopicResult,
} from './topic-commands';
import { applyBatch, emptyControllerState, nextBatch, snapshotOf, stateFromSnapshot, type ControllerState } from './controller-state';
import type { MetadataDelta, MetadataImage } from './image';
import type { MetadataRandom } from './placement';
import { listReassignments, type ReassignmentView } from './queries';
import type { MetadataRecord } from './records';
import type { MetadataStore } from './store';

export interface MetadataControllerOptions {
  readonly store: MetadataStore;
  readonly clock: Clock;
  readonly random: MetadataRandom;
  readonly controllerId: number;
  /** Where this controller is reached (advertised). */
  readonly host: string;
  readonly port: number;
  readonly heartbeatIntervalMs: number;
  /** A node without a heartbeat for this long is fenced. */
  readonly sessionTimeoutMs: number;
  /** The cluster id for a store that has none yet (a new cluster, or one formed before ids were recorded). */
  readonly initialClusterId: () => Promise<string>;
}

export type DeltaListener = (delta: MetadataDelta, image: MetadataImage) => void;

/** Pending commands beyond this are refused (THROTTLING_QUOTA_EXCEEDED) rather than queued without bound. */
export const pendingCommandsMax = 10_000;

export class MetadataController {
  private state: ControllerState = emptyControllerState;
  private readonly lastContactMs = new Map<number, number>();
  private readonly listeners = new Set<DeltaListener>();
  /** Tail of the command chain: commands run strictly one after another. */
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private failure: StarlaneError | undefined;
  private closed = false;

  private constructor(private readonly options: MetadataControllerOptions) {
    assert(options.sessionTimeoutMs > 0 && options.heartbeatIntervalMs > 0, 'heartbeat interval and session timeout must be positive');
  }

  /** Loads the store, forms the cluster on first start, and records this controller's activation. */
  static async open(options: MetadataControllerOptions): Promise<MetadataController> {
    const controller = new MetadataController(options);
    await controller.recover();
    return controller;
  }

  private async recover(): Promise<void> {
    const loaded = await this.options.store.load();
    let state = loaded.snapshot === undefined ? emptyControllerState : stateFromSnapshot(loaded.snapshot);
    for (const batch of loaded.batches) state = applyBatch(state, batch).state;
    this.state = state;
    const now = this.options.clock.nowMs();
    for (const registration of state.registrations.values()) if (registration.state !== 'fenced') this.lastContactMs.set(registration.nodeId, now);

    const records: MetadataRecord[] = [];
    if (state.image.clusterId === '') records.push({ type: 'cluster', clusterId: await this.options.initialClusterId() });
    const controllerEpoch = (state.image.controller?.controllerEpoch ?? 0) + 1;
    records.push({ type: 'controller', controllerId: this.options.controllerId, controllerEpoch, host: this.options.host, port: this.options.port });
    await this.commit(records);
  }

  /** The current image (immutable; a later change makes a new one). */
  image(): MetadataImage {
    return this.state.image;
  }

  /** The full current state, for tests and diagnostics. */
  controllerState(): ControllerState {
    return this.state;
  }

  get heartbeatIntervalMs(): number {
    return this.options.heartbeatIntervalMs;
  }

  get sessionTimeoutMs(): number {
    return this.options.sessionTimeoutMs;
  }

  /**
   * Calls `listener` with every delta after it is durable, in version order, synchronously
   * after the change: a caller that reads `image()` and subscribes in one turn misses nothing.
   */
  subscribe(listener: DeltaListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Sessions judged as of `nowMs`. Liveness is judged by when things arrived, not by when the
   * queued command runs: a backlog in the command queue (a slow fsync, a burst of admin calls)
   * must not fence a node whose heartbeat is waiting right behind the check.
   */
  private sessionsAt(nowMs: number): NodeSessions {
    return {
      isLive: (nodeId) => {
        const last = this.lastContactMs.get(nodeId);
        return last !== undefined && nowMs - last < this.options.sessionTimeoutMs;
      },
    };
  }

  private recordContact(nodeId: number, atMs: number): void {
    this.lastContactMs.set(nodeId, Math.max(this.lastContactMs.get(nodeId) ?? atMs, atMs));
  }

  registerNode(input: RegisterNodeInput): Promise<{ nodeEpoch: number }> {
    const receivedAtMs = this.options.clock.nowMs();
    return this.run(
      (state) => registerNode(state, input, this.sessionsAt(this.options.clock.nowMs())),
      () => this.lastContactMs.set(input.nodeId, receivedAtMs),
    );
  }

  heartbeat(input: HeartbeatInput): Promise<HeartbeatResult> {
    const receivedAtMs = this.options.clock.nowMs();
    return this.run(
      (state) => {
        const outcome = heartbeat(state, input);
        // Only a heartbeat of the current registration counts as contact (heartbeat() checked it).
        this.recordContact(input.nodeId, receivedAtMs);
        return outcome;
      },
      () => undefined,
    );
  }

  controlledShutdown(input: { nodeId: number; nodeEpoch: number }): Promise<ControlledShutdownResult> {
    return this.run((state) => controlledShutdown(state, input));
  }

  allocateProducerIds(count: number): Promise<{ firstProducerId: bigint; count: number }> {
    return this.run((state) => allocateProducerIds(state, count));
  }

  createTopics(input: { topics: readonly NewTopicInput[]; validateOnly: boolean }): Promise<CreateTopicResult[]> {
    return this.run((state) => createTopics(state, input, this.options.random));
  }

  deleteTopics(input: { names: readonly string[]; topicIds: readonly string[] }): Promise<DeleteTopicResult[]> {
    return this.run((state) => deleteTopics(state, input));
  }

  alterTopicConfigs(input: { topics: readonly { topic: string; changes: readonly ConfigChangeInput[] }[]; validateOnly: boolean }): Promise<TopicResult[]> {
    return this.run((state) => alterTopicConfigs(state, input));
  }

  createPartitions(input: { topics: readonly NewPartitionsInput[]; validateOnly: boolean }): Promise<TopicResult[]> {
    return this.run((state) => createPartitions(state, input, this.options.random));
  }

  /**
   * A leader's ISR proposals, one result per partition in request order. Throws
   * BROKER_ID_NOT_REGISTERED or STALE_BROKER_EPOCH for the whole request.
   */
  alterPartition(input: AlterPartitionInput): Promise<AlterPartitionResult[]> {
    return this.run((state) => alterPartition(state, input));
  }

  /** Starts or cancels reassignments; the start time recorded is when the command runs. */
  reassignPartitions(input: { partitions: readonly PartitionReassignmentInput[]; validateOnly: boolean }): Promise<PartitionReassignmentResult[]> {
    return this.run((state) => reassignPartitions(state, input, this.options.clock.nowMs()));
  }

  /**
   * Reassignments in progress among `partitions` (all when empty), from the current state:
   * a change this controller answered is already in it.
   */
  listReassignments(partitions: readonly { topic: string; partition: number }[] = []): ReassignmentView[] {
    return listReassignments(this.state, partitions);
  }

  /**
   * One preferred-leader balancing pass (auto.leader.rebalance.enable). Driven by a timer in
   * the process (leader.imbalance.check.interval.seconds); run again at once when `more`.
   */
  electPreferredLeaders(electionsMax?: number): Promise<PreferredLeadersResult> {
    return this.run((state) => electPreferredLeaders(state, electionsMax === undefined ? {} : { electionsMax }));
  }

  /** Fences nodes whose session expired. Driven by a timer in the process, by hand in tests. */
  tick(): Promise<number[]> {
    const askedAtMs = this.options.clock.nowMs();
    return this.run((state) => {
      const outcome = fenceExpiredNodes(state, this.sessionsAt(askedAtMs));
      return { result: outcome.result.fencedNodeIds, records: outcome.records };
    });
  }

  /** Waits for queued commands, then refuses new ones. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => undefined);
    this.listeners.clear();
    await this.options.store.close();
  }

  /**
   * Queues a command. `command` runs with the state current when its turn comes; `onSuccess`
   * runs after its records are durable and applied, before the answer is given.
   */
  private run<T>(command: (state: ControllerState) => CommandOutcome<T>, onSuccess: () => void = () => undefined): Promise<T> {
    if (this.closed) return Promise.reject(new StarlaneError('NOT_CONTROLLER', 'the controller is stopping'));
    if (this.pending >= pendingCommandsMax) return Promise.reject(new StarlaneError('THROTTLING_QUOTA_EXCEEDED', `more than ${pendingCommandsMax} controller commands are waiting; retry later`));
    this.pending += 1;
    const result = this.tail.then(async () => {
      if (this.failure !== undefined) throw this.failure;
      const outcome = command(this.state);
      await this.commit(outcome.records);
      onSuccess();
      return outcome.result;
    });
    this.tail = result.then(
      () => (this.pending -= 1),
      () => (this.pending -= 1),
    );
    return result;
  }

  /** Records, applies and publishes `records` (nothing when empty). */
  private async commit(records: readonly MetadataRecord[]): Promise<void> {
    if (records.length === 0) return;
    const batch = nextBatch(this.state, records);
    const { state, delta } = applyBatch(this.state, batch);
    try {
      await this.options.store.append(batch, () => snapshotOf(state));
    } catch (error) {
      this.failure =
        error instanceof StarlaneError ? error : new StarlaneError('STORAGE_UNAVAILABLE', `metadata store failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      throw this.failure;
    }
    this.state = state;
    for (const listener of [...this.listeners]) listener(delta, state.image);
  }

  /** Why the controller refuses changes, if it does. */
  get failed(): StarlaneError | undefined {
    return this.failure;
  }
}
