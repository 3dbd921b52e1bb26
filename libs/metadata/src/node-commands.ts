/**
 * Node lifecycle commands: registration, heartbeats, controlled shutdown and the fencing of
 * nodes whose sessions expired. Pure functions over the controller state, as in `commands.ts`.
 */
import { StarlaneError } from '@starlane/model';
import { type ControllerState, type NodeRegistration } from './controller-state';
import { type MetadataRecord, type NodeRecord } from './records';
import { activeNodes, currentRegistration, electLeaderless, electorate, nodeRecord, servesReplicas, withPartitions, withdrawNode, type CommandOutcome, type NodeSessions } from './commands';

// ---------------------------------------------------------------------------
// Node lifecycle

export interface RegisterNodeInput {
  readonly nodeId: number;
  readonly incarnationId: string;
  /** Empty for a node whose directories are new. */
  readonly clusterId: string;
  readonly host: string;
  readonly port: number;
  readonly rack: string;
  /**
   * Whether nothing unflushed can have been lost since the previous run
   * (RegisterNodeRequest.clean_shutdown): it stopped cleanly, or stopped within the same boot,
   * whose page cache kept every write. A node with new or wiped data reports false. Unset
   * counts as clean, as registrations did before nodes reported it.
   */
  readonly cleanShutdown?: boolean;
}

/**
 * Registers a node incarnation. A retry of the same incarnation is answered with its epoch and
 * changes nothing; a new incarnation gets a new epoch and starts fenced (its leaderships move
 * away now: the new process may have lost what the old one had not flushed). A new incarnation
 * is refused while the previous one still has a live session, since then two processes are
 * configured with one id, unless the previous one announced a controlled shutdown. Whether the
 * incarnation follows a clean shutdown is recorded with it for elections (see Leadership); one
 * that does not leaves every ELR, and the ISR where it is the last member and the ELR holds
 * another replica (`withdrawNode`, KIP-966).
 */
export function registerNode(state: ControllerState, input: RegisterNodeInput, sessions: NodeSessions): CommandOutcome<{ nodeEpoch: number }> {
  if (!Number.isInteger(input.nodeId) || input.nodeId < 0) throw new StarlaneError('INVALID_REQUEST', `node id must be >= 0, got ${input.nodeId}`);
  if (input.incarnationId === '') throw new StarlaneError('INVALID_REQUEST', 'incarnation_id must be set');
  if (input.host === '') throw new StarlaneError('INVALID_REQUEST', 'host must be set');
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) throw new StarlaneError('INVALID_REQUEST', `port must be from 1 to 65535, got ${input.port}`);
  if (input.clusterId !== '' && input.clusterId !== state.image.clusterId) {
    throw new StarlaneError('INCONSISTENT_CLUSTER_ID', `node ${input.nodeId} belongs to cluster ${input.clusterId}, this is cluster ${state.image.clusterId}`);
  }
  const existing = state.registrations.get(input.nodeId);
  if (existing !== undefined && existing.incarnationId === input.incarnationId) return { result: { nodeEpoch: existing.nodeEpoch }, records: [] };
  if (existing !== undefined && existing.state !== 'controlled-shutdown' && sessions.isLive(input.nodeId)) {
    throw new StarlaneError(
      'DUPLICATE_BROKER_REGISTRATION',
      `node ${input.nodeId} is registered by another live process (incarnation ${existing.incarnationId}); two processes may be configured with one node id, or the previous one has not yet timed out`,
    );
  }
  // An incarnation after an unclean shutdown may have lost records it had acknowledged: it
  // leaves the eligible leader replicas, and an ISR it is the last member of when one remains.
  const partitions = existing === undefined ? [] : withdrawNode(state, input.nodeId, activeNodes(state), { unclean: input.cleanShutdown === false });
  // The node record comes first; the version after the whole batch is the new epoch.
  const nodeEpoch = state.image.version + 1 + partitions.length;
  const record: NodeRecord = {
    type: 'node',
    nodeId: input.nodeId,
    nodeEpoch,
    incarnationId: input.incarnationId,
    host: input.host,
    port: input.port,
    rack: input.rack,
    state: 'fenced',
    // A node never registered is in no ISR or ELR and acknowledged nothing the cluster relies
    // on: what its data lost (it reports new data as lost) costs nothing, so it is not ranked
    // behind clean incarnations in elections either.
    cleanShutdown: existing === undefined || input.cleanShutdown !== false,
    // A new incarnation starts with its log directories online: it opened them to register.
    offlineLogDirIds: [],
  };
  return { result: { nodeEpoch }, records: [record, ...partitions] };
}

function leadsAny(state: ControllerState, nodeId: number): boolean {
  for (const topic of state.image.topics.values()) for (const partition of topic.partitions) if (partition.leader === nodeId) return true;
  return false;
}

/** Most failed log directories one heartbeat may report (a node has one today). */
export const offlineLogDirIdsMax = 64;

export interface HeartbeatInput {
  readonly nodeId: number;
  readonly nodeEpoch: number;
  /** Highest metadata version the node has applied. */
  readonly metadataVersion: number;
  /** Log directories that failed since the node registered (HeartbeatRequest.offline_log_dir_ids). */
  readonly offlineLogDirIds?: readonly string[];
}

export interface HeartbeatResult {
  readonly fenced: boolean;
  readonly shouldShutDown: boolean;
}

/**
 * A heartbeat. A fenced node is unfenced once it has applied the metadata version of its own
 * registration (so it never leads with metadata older than its registration), and then the
 * leaderless partitions it replicates get a leader again (`elect`: it, where it is in the ISR;
 * where unclean election is enabled and no ISR member may lead, it or another active replica).
 *
 * A heartbeat that reports a failed log directory for the first time records it with the
 * registration and withdraws the node as when it is fenced (`withdrawNode`), as KRaft handles
 * offline log directories: its leaderships move to other in-sync replicas that may lead, and
 * it leaves every ISR where another member remains. A directory stays offline until a new
 * incarnation registers (Kafka: until the broker restarts); the node stays unfenced meanwhile.
 */
export function heartbeat(state: ControllerState, input: HeartbeatInput): CommandOutcome<HeartbeatResult> {
  const registration = currentRegistration(state, input.nodeId, input.nodeEpoch);
  const reported = input.offlineLogDirIds ?? [];
  if (reported.length > offlineLogDirIdsMax) throw new StarlaneError('INVALID_REQUEST', `a heartbeat may report at most ${offlineLogDirIdsMax} offline log directories, got ${reported.length}`);
  if (reported.some((id) => id === '')) throw new StarlaneError('INVALID_REQUEST', 'an offline log directory id must not be empty');
  const newlyOffline = [...new Set(reported)].filter((id) => !registration.offlineLogDirIds.includes(id));
  const unfence = registration.state === 'fenced' && input.metadataVersion >= registration.nodeEpoch;
  const shuttingDown = registration.state === 'controlled-shutdown';
  if (!unfence && newlyOffline.length === 0) {
    return { result: { fenced: registration.state !== 'active', shouldShutDown: shuttingDown && !leadsAny(state, input.nodeId) }, records: [] };
  }
  const updated: NodeRegistration = {
    ...registration,
    state: unfence ? 'active' : registration.state,
    offlineLogDirIds: [...registration.offlineLogDirIds, ...newlyOffline],
  };
  const active = activeNodes(state);
  if (servesReplicas(updated)) active.add(input.nodeId);
  else active.delete(input.nodeId);
  const records: MetadataRecord[] = [nodeRecord(registration, { state: updated.state, offlineLogDirIds: updated.offlineLogDirIds })];
  if (newlyOffline.length > 0) records.push(...withdrawNode(state, input.nodeId, active));
  else records.push(...electLeaderless(state, state.image.topics.values(), electorate(state, (id) => active.has(id)), input.nodeId));
  return { result: { fenced: updated.state !== 'active', shouldShutDown: shuttingDown && !leadsAny(state, input.nodeId) }, records };
}

export interface ControlledShutdownResult {
  /** Partitions the node still leads; empty means it may exit. */
  readonly remainingLeaderships: readonly { readonly topic: string; readonly partition: number }[];
}

/**
 * A node about to stop: it stops being eligible, its leaderships move to other in-sync replicas
 * that may lead, and partitions with no such replica (always the case with one replica) are
 * left without a leader rather than led by a process that is about to exit.
 */
export function controlledShutdown(state: ControllerState, input: { readonly nodeId: number; readonly nodeEpoch: number }): CommandOutcome<ControlledShutdownResult> {
  const registration = currentRegistration(state, input.nodeId, input.nodeEpoch);
  const records: MetadataRecord[] = [];
  if (registration.state !== 'controlled-shutdown') {
    records.push(nodeRecord(registration, { state: 'controlled-shutdown' }), ...withdrawNode(state, input.nodeId, activeNodes(state)));
  }
  // Withdrawal leaves the node leading nothing; the answer lists what it still leads for callers that retry.
  const remaining: { topic: string; partition: number }[] = [];
  if (records.length === 0) {
    for (const topic of state.image.topics.values()) {
      for (const partition of topic.partitions) if (partition.leader === input.nodeId) remaining.push({ topic: topic.name, partition: partition.partition });
    }
  }
  return { result: { remainingLeaderships: remaining }, records };
}

/**
 * Fences every node that is not fenced and has no live session: it leaves leaderships and
 * ISRs as in `withdrawNode`. One batch for all of them, so watchers see one consistent change.
 */
export function fenceExpiredNodes(state: ControllerState, sessions: NodeSessions): CommandOutcome<{ fencedNodeIds: number[] }> {
  let current = state;
  const records: MetadataRecord[] = [];
  const fenced: number[] = [];
  const active = activeNodes(state);
  for (const registration of [...state.registrations.values()].sort((a, b) => a.nodeId - b.nodeId)) {
    // A node in controlled shutdown was withdrawn already; fencing it would let a late
    // heartbeat of that exiting incarnation unfence it and hand it leaderships again.
    if (registration.state === 'fenced' || registration.state === 'controlled-shutdown' || sessions.isLive(registration.nodeId)) continue;
    active.delete(registration.nodeId);
    fenced.push(registration.nodeId);
    records.push(nodeRecord(registration, { state: 'fenced' }));
    const withdrawn = withdrawNode(current, registration.nodeId, active);
    records.push(...withdrawn);
    // Later nodes in this pass see the partitions as already changed.
    current = withPartitions(current, withdrawn);
  }
  return { result: { fencedNodeIds: fenced }, records };
}
