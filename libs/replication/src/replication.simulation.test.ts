/**
 * Seeded simulations of one partition replicated over three nodes: the leader state and the
 * epoch rules of this library, with a small model of the controller (fencing, election from
 * the ISR, the unclean-restart rule, ISR proposals) and of the disk (what was not flushed is
 * gone after a power loss; a killed process loses nothing the OS already had).
 */
import { seededRandom } from '@starlane/testing';
import { LeaderReplicaState, type LeaderAssignment, type ReplicaSettings } from './leader';
import { divergingEpoch, followerHighWatermark, truncationFor, type EpochEnd, type EpochHistory } from './follower';

interface Entry {
  readonly epoch: number;
  readonly value: string;
}

interface EpochStart {
  readonly epoch: number;
  readonly start: number;
}

/**
 * A replica's log and leader-epoch cache. As in Kafka and PartitionLog, the cache gets an entry
 * when a batch of a new epoch is appended and when the replica becomes leader (its epoch starts
 * at its log end, before it has written anything), and truncation drops entries from the cut on.
 */
class Replica {
  log: Entry[] = [];
  epochs: EpochStart[] = [];
  flushed = 0;
  alive = true;
  incarnation = 1n;
  hw = 0n;
  constructor(readonly id: number) {}

  get logEnd(): bigint {
    return BigInt(this.log.length);
  }

  get latestEpoch(): number {
    return this.epochs[this.epochs.length - 1]?.epoch ?? -1;
  }

  assignEpoch(epoch: number, start: number): void {
    if (epoch > this.latestEpoch) this.epochs.push({ epoch, start });
  }

  append(entries: readonly Entry[]): void {
    for (const entry of entries) {
      this.assignEpoch(entry.epoch, this.log.length);
      this.log.push(entry);
    }
  }

  truncateTo(offset: number): void {
    this.log.length = Math.min(this.log.length, offset);
    this.flushed = Math.min(this.flushed, offset);
    this.epochs = this.epochs.filter((entry) => entry.start < offset);
    this.hw = followerHighWatermark(this.hw, this.logEnd);
  }

  /** Mirrors LeaderEpochCache.endOffsetFor. */
  history(): EpochHistory {
    return {
      endOffsetForEpoch: (epoch: number): EpochEnd => {
        const latest = this.epochs[this.epochs.length - 1];
        if (epoch < 0 || latest === undefined) return { epoch: -1, endOffset: -1n };
        if (latest.epoch === epoch) return { epoch, endOffset: this.logEnd };
        const higher = this.epochs.findIndex((entry) => entry.epoch > epoch);
        if (higher < 0) return { epoch: -1, endOffset: -1n };
        const floor = this.epochs[higher - 1];
        const end = BigInt((this.epochs[higher] as EpochStart).start);
        return floor === undefined ? { epoch, endOffset: end } : { epoch: floor.epoch, endOffset: end };
      },
    };
  }
}

const replicaIds = [1, 2, 3] as const;
const defaultSettings: ReplicaSettings = { minInsyncReplicas: 2, replicaLagTimeMaxMs: 100 };

/** Every run of a seed is the same run. */
const random = seededRandom;

class World {
  readonly replicas = new Map<number, Replica>(replicaIds.map((id) => [id, new Replica(id)]));
  partition: LeaderAssignment & { leader: number } = { leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [...replicaIds], isr: [...replicaIds] };
  leaderState: LeaderReplicaState | undefined;
  nowMs = 0;
  private sent = 0;
  /** Writes waiting for acks=all, with the leader epoch that took them. */
  private pending: { offset: number; value: string; leaderEpoch: number }[] = [];
  readonly acked: { offset: number; value: string }[] = [];
  readonly log: string[] = [];

  constructor(private readonly settings: ReplicaSettings = defaultSettings) {
    this.syncLeader();
  }

  replica(id: number): Replica {
    return this.replicas.get(id) as Replica;
  }

  get leader(): Replica | undefined {
    return this.partition.leader < 0 ? undefined : this.replica(this.partition.leader);
  }

  // -- controller model ------------------------------------------------------------------

  private change(leader: number, isr: number[]): void {
    const p = this.partition;
    this.partition = { ...p, leader, isr, leaderEpoch: leader === p.leader ? p.leaderEpoch : p.leaderEpoch + 1, partitionEpoch: p.partitionEpoch + 1 };
    this.log.push(`partition leader=${leader} epoch=${this.partition.leaderEpoch} isr=${isr.join(',')}`);
    this.syncLeader();
  }

  private elect(isr: readonly number[], except?: number): number {
    return this.partition.replicas.find((id) => id !== except && isr.includes(id) && this.replica(id).alive) ?? -1;
  }

  /** The node's session ended: it leaves the ISR unless it is the last member, and leadership. */
  private fence(id: number): void {
    const shrunk = this.partition.isr.filter((member) => member !== id);
    const isr = shrunk.length > 0 ? shrunk : [...this.partition.isr];
    const leader = this.partition.leader === id || this.partition.leader < 0 ? this.elect(isr, id) : this.partition.leader;
    this.change(leader, isr);
  }

  /** The node registered after an unclean shutdown: it leaves ISRs that have other members. */
  private register(id: number): void {
    const shrunk = this.partition.isr.filter((member) => member !== id);
    const isr = shrunk.length > 0 ? shrunk : [...this.partition.isr];
    const leader = this.partition.leader < 0 ? this.elect(isr) : this.partition.leader;
    this.change(leader, isr);
  }

  private syncLeader(): void {
    const leader = this.leader;
    if (leader === undefined) {
      this.leaderState = undefined;
    } else if (this.leaderState === undefined || this.leaderState.localNodeId !== leader.id || this.leaderState.leaderEpoch !== this.partition.leaderEpoch) {
      leader.assignEpoch(this.partition.leaderEpoch, leader.log.length);
      this.leaderState = new LeaderReplicaState(leader.id, this.partition, leader.logEnd, leader.logEnd, leader.hw, this.settings, this.nowMs);
    } else {
      this.leaderState.onAssignment(this.partition, this.nowMs);
    }
    // Writes taken by an earlier leader epoch fail: their producers never hear success.
    this.pending = this.pending.filter((write) => write.leaderEpoch === this.partition.leaderEpoch);
    this.settle();
  }

  // -- events ----------------------------------------------------------------------------

  produce(): void {
    const leader = this.leader;
    if (leader === undefined || this.leaderState === undefined || !this.leaderState.enoughReplicas) return;
    const value = `v${this.sent++}`;
    leader.append([{ epoch: this.partition.leaderEpoch, value }]);
    this.pending.push({ offset: leader.log.length - 1, value, leaderEpoch: this.partition.leaderEpoch });
    this.leaderState.onLocalAppend(leader.logEnd);
    this.settle();
  }

  fetch(id: number, batchMax = 3, learnHighWatermark = true): void {
    const leader = this.leader;
    const follower = this.replica(id);
    if (leader === undefined || this.leaderState === undefined || leader.id === id || !follower.alive) return;
    const diverging = divergingEpoch(leader.history(), follower.latestEpoch, follower.logEnd);
    if (diverging !== undefined) {
      const cut = truncationFor(diverging, follower.history(), follower.logEnd);
      const offset = cut.kind === 'restart' ? 0 : Number(cut.offset);
      this.log.push(`replica ${id} truncates ${follower.log.length} -> ${offset} (diverging ${diverging.epoch}@${diverging.endOffset})`);
      follower.truncateTo(offset);
      return;
    }
    this.leaderState.onFollowerFetch(id, follower.logEnd, follower.incarnation, this.nowMs);
    follower.append(leader.log.slice(follower.log.length, follower.log.length + batchMax));
    leader.hw = this.leaderState.highWatermark;
    // A follower that dies before the answer arrives never learns the new high watermark.
    if (learnHighWatermark) follower.hw = followerHighWatermark(leader.hw, follower.logEnd);
    this.settle();
  }

  /**
   * The leader sends its ISR proposal, if it has one; the controller decides as AlterPartition
   * does. The leader's metadata here is the controller's: a replica is eligible while its node
   * lives, in the incarnation it fetched with.
   */
  isrTick(): void {
    const leaderState = this.leaderState;
    if (leaderState === undefined) return;
    const eligible = (nodeId: number, nodeEpoch: bigint): boolean => this.replica(nodeId).alive && this.replica(nodeId).incarnation === nodeEpoch;
    const proposal = leaderState.proposal(this.nowMs, eligible);
    if (proposal === undefined) return;
    const p = this.partition;
    const joiningOk = proposal.isr.every(({ nodeId, nodeEpoch }) => p.isr.includes(nodeId) || eligible(nodeId, nodeEpoch));
    const accepted = proposal.leaderEpoch === p.leaderEpoch && proposal.partitionEpoch === p.partitionEpoch && joiningOk;
    if (accepted) {
      this.partition = { ...p, isr: proposal.isr.map((member) => member.nodeId), partitionEpoch: p.partitionEpoch + 1 };
      this.log.push(`isr -> ${this.partition.isr.join(',')}`);
    }
    leaderState.onProposalSettled({ outcome: accepted ? 'accepted' : 'refused', state: this.partition }, this.nowMs);
    this.settle();
  }

  flush(id: number): void {
    const replica = this.replica(id);
    if (replica.alive) replica.flushed = replica.log.length;
  }

  /** SIGKILL: the process dies, the OS keeps what it wrote. */
  kill(id: number): void {
    const replica = this.replica(id);
    if (!replica.alive) return;
    replica.alive = false;
    this.log.push(`kill ${id}`);
    this.fence(id);
  }

  /** Power loss: the process dies and unflushed writes are gone. */
  powerLoss(id: number): void {
    const replica = this.replica(id);
    if (!replica.alive) return;
    replica.truncateTo(replica.flushed);
    this.kill(id);
  }

  restart(id: number): void {
    const replica = this.replica(id);
    if (replica.alive) return;
    replica.alive = true;
    replica.incarnation += 1n;
    // Log recovery drops epoch entries that start at or past the log end (Kafka's truncateFromEnd).
    replica.epochs = replica.epochs.filter((entry) => entry.start < replica.log.length);
    this.log.push(`restart ${id}`);
    this.register(id);
  }

  advance(ms: number): void {
    this.nowMs += ms;
  }

  private settle(): void {
    const leader = this.leader;
    if (leader === undefined || this.leaderState === undefined) return;
    leader.hw = this.leaderState.highWatermark;
    const hw = Number(leader.hw);
    const done = this.pending.filter((write) => write.offset < hw);
    this.pending = this.pending.filter((write) => write.offset >= hw);
    for (const write of done) this.acked.push({ offset: write.offset, value: write.value });
  }

  // -- checks ----------------------------------------------------------------------------

  /** Every acknowledged record is in the current leader's log, where it was acknowledged. */
  checkAcked(): void {
    const leader = this.leader;
    if (leader === undefined) return;
    for (const { offset, value } of this.acked) {
      if (leader.log[offset]?.value !== value) throw new Error(`acknowledged ${value}@${offset} missing on leader ${leader.id}:\n${this.log.slice(-30).join('\n')}`);
    }
  }

  /** No leader's high watermark passes what an ISR member holds; the ISR is never empty. */
  checkIsr(): void {
    const p = this.partition;
    if (p.isr.length === 0) throw new Error('empty ISR');
    if (p.leader >= 0 && !p.isr.includes(p.leader)) throw new Error(`leader ${p.leader} outside the ISR ${p.isr.join(',')}`);
    const leader = this.leader;
    if (leader === undefined) return;
    for (const id of p.isr) {
      const member = this.replica(id);
      if (member.alive && member.id !== leader.id && member.logEnd < leader.hw) {
        // A member may still be fetching up to the high watermark only if it joined through the
        // leader, which requires reaching it first; so this never happens.
        throw new Error(`ISR member ${id} ends at ${member.logEnd} below the high watermark ${leader.hw}:\n${this.log.slice(-15).join('\n')}`);
      }
    }
  }

  /** Brings every node back and replicates until all logs match the leader's. */
  heal(): void {
    for (const id of replicaIds) this.restart(id);
    for (let round = 0; round < 500; round += 1) {
      for (const id of replicaIds) this.fetch(id, 50);
      this.advance(10);
      this.isrTick();
      if (this.partition.isr.length === replicaIds.length && replicaIds.every((id) => this.replica(id).logEnd === this.leader?.logEnd)) break;
    }
  }

  checkConverged(): void {
    const leader = this.leader;
    if (leader === undefined) throw new Error('no leader after healing');
    for (const id of replicaIds) {
      const values = this.replica(id).log.map((entry) => `${entry.epoch}:${entry.value}`).join(' ');
      const expected = leader.log.map((entry) => `${entry.epoch}:${entry.value}`).join(' ');
      if (values !== expected) throw new Error(`replica ${id} differs from leader ${leader.id}:\n${values}\n${expected}\n${this.log.slice(-30).join('\n')}`);
    }
  }
}

/** Random steps with at most one node down at a time; a power loss only while all are in sync. */
function runSeed(seed: number, steps: number): World {
  const next = random(seed);
  const world = new World();
  const pick = (): number => replicaIds[Math.floor(next() * replicaIds.length)] as number;
  for (let step = 0; step < steps; step += 1) {
    const roll = next();
    const allAlive = replicaIds.every((id) => world.replica(id).alive);
    if (roll < 0.3) world.produce();
    else if (roll < 0.6) world.fetch(pick());
    else if (roll < 0.7) world.isrTick();
    else if (roll < 0.78) world.flush(pick());
    else if (roll < 0.82 && allAlive) world.kill(pick());
    else if (roll < 0.84 && allAlive && world.partition.isr.length === replicaIds.length) world.powerLoss(pick());
    else if (roll < 0.92) {
      const down = replicaIds.filter((id) => !world.replica(id).alive);
      if (down.length > 0) world.restart(down[0] as number);
    } else world.advance(Math.floor(next() * 60));
    world.checkAcked();
    world.checkIsr();
  }
  world.heal();
  world.checkAcked();
  world.checkConverged();
  return world;
}

describe('replication simulation', () => {
  it.each(Array.from({ length: 200 }, (_, index) => index + 1))('seed %i: nothing acknowledged is lost and the replicas converge', (seed) => {
    const world = runSeed(seed, 400);
    // The runs make progress: records are acknowledged, not merely never refused.
    expect(world.acked.length).toBeGreaterThan(0);
  });

  it('the runs exercise failover and truncation', () => {
    const logs = Array.from({ length: 50 }, (_, index) => runSeed(1000 + index, 400).log.join('\n')).join('\n');
    expect(logs).toMatch(/truncates/);
    expect(logs).toMatch(/leader=2|leader=3/);
  });
});

describe('KIP-101', () => {
  it('a follower that restarted keeps what it fetched beyond its high watermark, so a committed record survives the next failover', () => {
    const world = new World();
    world.kill(3);
    world.produce();
    world.produce();
    world.fetch(2);
    world.fetch(2, 3, false);
    // The leader committed both records; replica 2 holds both but has not heard the new high watermark.
    expect(world.leader?.hw).toBe(2n);
    expect(world.replica(2).hw).toBeLessThan(2n);
    world.kill(2);
    world.restart(2);
    world.kill(1);
    world.restart(1);
    world.restart(3);
    world.heal();
    // Truncating to its high watermark (Kafka before KIP-101) would have dropped offset 1 on replica 2.
    expect(world.log.some((line) => line.startsWith('replica 2 truncates'))).toBe(false);
    world.checkConverged();
    world.checkAcked();
    expect(world.acked).toHaveLength(2);
  });

  it('after a double failure the logs still agree: the returning replica cuts its record the new leader never had', () => {
    const world = new World({ minInsyncReplicas: 1, replicaLagTimeMaxMs: 100 });
    world.kill(3);
    world.produce();
    world.produce();
    world.fetch(2);
    world.fetch(2);
    // Replica 2 flushed only the first record; then both fail, 1 first (a kill: its log stays).
    world.replica(2).flushed = 1;
    world.kill(1);
    expect(world.partition.leader).toBe(2);
    world.powerLoss(2);
    world.restart(2);
    expect(world.partition.leader).toBe(2);
    // The new leader writes a different record at offset 1 in a newer epoch.
    world.produce();
    const leaderLog = world.replica(2).log.map((entry) => entry.value);
    world.restart(1);
    world.restart(3);
    world.heal();
    expect(world.log.some((line) => line.startsWith('replica 1 truncates 2 -> 1'))).toBe(true);
    world.checkConverged();
    expect(world.replica(1).log.map((entry) => entry.value)).toEqual(leaderLog);
  });
});

describe('last replica standing', () => {
  it('the last ISR member is elected when it returns, even after an unclean restart, and the others follow its log', () => {
    const world = new World();
    world.produce();
    for (const id of [2, 3]) world.fetch(id);
    for (const id of [2, 3]) world.fetch(id);
    world.checkAcked();
    expect(world.acked).toHaveLength(1);
    // Followers 2 and 3 fall away and the ISR shrinks to the leader alone.
    world.kill(2);
    world.kill(3);
    expect(world.partition.isr).toEqual([1]);
    // With min ISR 2 nothing more is accepted for acks=all.
    world.produce();
    expect(world.acked).toHaveLength(1);
    // The leader loses power (unclean), keeping only what it flushed: the acknowledged record.
    world.flush(1);
    world.powerLoss(1);
    expect(world.partition.leader).toBe(-1);
    // 2 and 3 come back first: neither is in the ISR, so neither may lead (no unclean election).
    world.restart(2);
    world.restart(3);
    expect(world.partition.leader).toBe(-1);
    // 1 returns after an unclean shutdown but is the last ISR member: it leads again.
    world.restart(1);
    expect(world.partition.leader).toBe(1);
    world.heal();
    world.checkConverged();
    world.checkAcked();
  });
});
