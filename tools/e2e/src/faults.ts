/**
 * The faults of the fault run (chaos.ts), in two kinds of phase.
 *
 * While producers write, one of: SIGKILL of a partition leader (restarted shortly after),
 * SIGSTOP of a follower for longer than the lag limit (then SIGCONT), SIGKILL of the active
 * controller (restarted).
 *
 * While producers pause (nothing written at all), leadership churn without data, the case a
 * run that always writes never reaches, since a new leader then always writes in its epoch:
 * 1. SIGTERM of a partition's leader, restarted at once: its controlled shutdown moves its
 *    leaderships to other replicas, at new epochs with nothing written in them;
 * 2. a preferred-leader election: once the restarted replica is back in the ISR, the
 *    controller's balancing timer (Kafka's auto.leader.rebalance.enable) moves leadership back
 *    to it, again without data;
 * 3. SIGSTOP of that idle leader until the controller fences it and another replica leads,
 *    then SIGCONT: it comes back as a follower whose last epoch holds no records.
 */
import type { TestCluster } from '@starlane/testing';

export interface FaultContext {
  readonly cluster: TestCluster;
  readonly topic: string;
  readonly partitions: number;
  /** The run's seeded random source: the same seed picks the same victims. */
  readonly next: () => number;
  /** Records one injected fault (the line gets a timestamp). */
  readonly fault: (line: string) => void;
  readonly progress: (message: string) => void;
  /** Storage nodes SIGSTOPped right now, so a failing run can SIGCONT them. */
  readonly stopped: Set<number>;
  /** Every leader SIGKILL, for failover times. */
  readonly leaderKills: { partition: number; atMs: number }[];
}

export const writeFaultKinds = ['kill-leader', 'pause-follower', 'kill-controller'] as const;
export type WriteFaultKind = (typeof writeFaultKinds)[number];

/** Longest wait for the preferred replica of an idle partition to lead again with a whole ISR. */
export const preferredElectionMsMax = 15_000;
/** Longest SIGSTOP of an idle leader while waiting for the controller to fence it. */
export const idleLeaderPauseMsMax = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Injects one fault under load; false when its victim could not be chosen (no leader right now). */
export async function injectWriteFault(context: FaultContext, kind: WriteFaultKind): Promise<boolean> {
  const { cluster, topic, next } = context;
  const partition = Math.floor(next() * context.partitions);
  const state = cluster.metadata().current().topics.get(topic)?.partitions[partition];
  if (kind === 'kill-leader') {
    if (state === undefined || state.leader < 0) return false;
    const name = `storage-node-${state.leader}`;
    const atMs = Date.now();
    await cluster.kill(name, 'SIGKILL');
    context.leaderKills.push({ partition, atMs });
    context.fault(`SIGKILL ${name} (leader of ${topic}-${partition})`);
    await sleep(1_500 + Math.floor(next() * 1_000));
    await cluster.start(name);
    await sleep(2_000);
  } else if (kind === 'pause-follower') {
    const followers = state?.replicas.filter((id) => id !== state.leader) ?? [];
    const victim = followers[Math.floor(next() * followers.length)];
    if (victim === undefined) return false;
    await pauseNode(context, victim, `SIGSTOP storage-node-${victim} (follower of ${topic}-${partition})`, () => sleep(4_000));
    await sleep(2_500);
  } else {
    const name = cluster.activeControllerName();
    if (name === undefined) return false;
    await cluster.kill(name, 'SIGKILL');
    context.fault(`SIGKILL ${name} (active controller)`);
    await sleep(1_000);
    await cluster.start(name);
    await sleep(1_500);
  }
  return true;
}

/** Leadership churn on one partition while nothing is written (see the file comment); false when it had no leader. */
export async function churnIdleLeadership(context: FaultContext): Promise<boolean> {
  const { cluster, topic } = context;
  const image = cluster.metadata().current();
  const states = image.topics.get(topic)?.partitions ?? [];
  // A partition led by its preferred replica, so that moving leadership away gives the balancer something to undo.
  const candidates = states.filter((state) => state.leader >= 0 && state.leader === state.replicas[0]);
  const state = candidates.length > 0 ? candidates[Math.floor(context.next() * candidates.length)] : states.find((candidate) => candidate.leader >= 0);
  if (state === undefined) return false;
  const partition = state.partition;
  const leaderOf = (current = cluster.metadata().current()) => current.topics.get(topic)?.partitions[partition];

  const name = `storage-node-${state.leader}`;
  context.fault(`SIGTERM ${name} (leader of ${topic}-${partition}, no writes)`);
  await cluster.kill(name, 'SIGTERM');
  await cluster.start(name);

  const preferred = state.replicas[0];
  // The SIGTERM moved leadership off the preferred replica; its leading again at a later epoch is the balancer's election.
  const victimWasPreferred = state.leader === preferred;
  const elected = await cluster.metadata().waitFor((current) => {
    const now = leaderOf(current);
    return now !== undefined && now.leader === preferred && now.isr.length === now.replicas.length;
  }, preferredElectionMsMax);
  if (elected === undefined) context.progress(`${topic}-${partition}: storage-node-${preferred} did not lead again with a whole ISR within ${preferredElectionMsMax} ms`);
  else if (victimWasPreferred && (leaderOf(elected)?.leaderEpoch ?? 0) > state.leaderEpoch) context.fault(`preferred-leader election: storage-node-${preferred} leads ${topic}-${partition} again at epoch ${leaderOf(elected)?.leaderEpoch} (no writes)`);

  const idle = leaderOf();
  if (idle === undefined || idle.leader < 0) return true;
  const idleLeader = idle.leader;
  await pauseNode(context, idleLeader, `SIGSTOP storage-node-${idleLeader} (idle leader of ${topic}-${partition}) until another replica leads`, async () => {
    const moved = await cluster.metadata().waitFor((current) => (leaderOf(current)?.leader ?? idleLeader) !== idleLeader, idleLeaderPauseMsMax);
    context.progress(moved === undefined ? `storage-node-${idleLeader} still leads ${topic}-${partition} after ${idleLeaderPauseMsMax} ms stopped` : `storage-node-${leaderOf(moved)?.leader} leads ${topic}-${partition}; SIGCONT storage-node-${idleLeader}`);
  });
  return true;
}

/** SIGSTOPs storage node `id`, runs `hold`, then SIGCONTs it (also on failure). */
async function pauseNode(context: FaultContext, id: number, line: string, hold: () => Promise<void>): Promise<void> {
  const child = context.cluster.storageNode(id).child;
  child.kill('SIGSTOP');
  context.stopped.add(id);
  context.fault(line);
  try {
    await hold();
  } finally {
    child.kill('SIGCONT');
    context.stopped.delete(id);
  }
}
