/**
 * Routing: which storage node leads a partition, in which leader epoch, according to the
 * gateway's metadata image. Pure functions of the image.
 */
import { noLeader, type MetadataImage, type NodeInfo, type TopicState } from '@starlane/metadata';
import { StarlaneError, errorCatalogue, type ErrorCode } from '@starlane/model';

/** Where one partition's requests go right now. */
export interface PartitionRoute {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly leader: NodeInfo;
  readonly leaderEpoch: number;
}

/** The metadata the gateway routes by: the watcher in production, a fake in tests. */
export interface MetadataSource {
  current(): MetadataImage;
  /**
   * Whether a first snapshot has arrived. Until then the image is empty and says nothing about
   * the cluster (an empty image would make every topic look unknown), so requests are refused
   * with `noMetadataError` instead of being answered from it.
   */
  readonly ready: boolean;
  /** Why there is no metadata yet: the controllers asked and the last problem, for the error text. */
  notReadyReason(): string;
  /** Resolves with the first image satisfying `predicate`, or undefined after `timeoutMs`. */
  waitFor(predicate: (image: MetadataImage) => boolean, timeoutMs: number): Promise<MetadataImage | undefined>;
}

/**
 * The answer to every request while the gateway has no metadata: at once (a wait could only
 * end in a guess) and retriable. LEADER_NOT_AVAILABLE is what a Kafka client retries when it
 * does not know a partition's leader yet, and it fits per-partition results as well as calls.
 */
export function noMetadataError(metadata: MetadataSource): StarlaneError {
  return new StarlaneError('LEADER_NOT_AVAILABLE', `the gateway has no cluster metadata yet: ${metadata.notReadyReason()}; retry`);
}

export type RouteResult = { readonly ok: true; readonly route: PartitionRoute } | { readonly ok: false; readonly error: StarlaneError };

/**
 * Routes (topic, partition): UNKNOWN_TOPIC_OR_PARTITION when the topic or partition does not
 * exist, LEADER_NOT_AVAILABLE when it has no leader or the leader's node is not active.
 */
export function routePartition(image: MetadataImage, topic: string, partition: number): RouteResult {
  const state = image.topics.get(topic);
  if (state === undefined) return fail('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic} does not exist`);
  return routeTopicPartition(image, state, partition);
}

export function routeTopicPartition(image: MetadataImage, state: TopicState, partition: number): RouteResult {
  const partitionState = state.partitions[partition];
  if (partition < 0 || partitionState === undefined) {
    return fail('UNKNOWN_TOPIC_OR_PARTITION', `topic ${state.name} has ${state.partitions.length} partitions, no partition ${partition}`);
  }
  if (partitionState.leader === noLeader) return fail('LEADER_NOT_AVAILABLE', `${state.name}-${partition} has no leader`);
  const leader = image.nodes.get(partitionState.leader);
  if (leader === undefined || leader.state !== 'active') {
    return fail('LEADER_NOT_AVAILABLE', `${state.name}-${partition}'s leader ${partitionState.leader} is not an active node`);
  }
  return { ok: true, route: { topic: state.name, topicId: state.topicId, partition, leader, leaderEpoch: partitionState.leaderEpoch } };
}

function fail(code: ErrorCode, message: string): RouteResult {
  return { ok: false, error: new StarlaneError(code, message) };
}

/** Whether two routes send to the same leader incarnation (node, address, epoch, topic id). */
export function sameRoute(a: PartitionRoute, b: PartitionRoute): boolean {
  return a.topicId === b.topicId && a.leaderEpoch === b.leaderEpoch && a.leader.nodeId === b.leader.nodeId && a.leader.host === b.leader.host && a.leader.port === b.leader.port;
}

/**
 * Errors after which a partition request is sent again once metadata allows: the leader moved
 * or is moving (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, FENCED_LEADER_EPOCH,
 * UNKNOWN_LEADER_EPOCH), the leader could not be reached (BROKER_NOT_AVAILABLE), or the
 * leader does not know the partition yet although the gateway's metadata has it (a topic just
 * created: UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID).
 */
export const leaderRetryCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'BROKER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'UNKNOWN_TOPIC_ID',
]);

/** Whether `code` is one to retry after a metadata refresh. */
export function isLeaderRetriable(code: ErrorCode): boolean {
  return leaderRetryCodes.has(code) && errorCatalogue[code].retriable;
}

/**
 * Whether an offset lookup answered with `code` is asked again: after a leader change, and
 * when a new leader's high watermark has not yet reached the start of its epoch
 * (OFFSET_NOT_AVAILABLE, KIP-207), which the same leader answers once its followers have
 * fetched, so the lookup waits a back-off rather than a metadata change.
 */
export function isOffsetLookupRetriable(code: ErrorCode): boolean {
  return isLeaderRetriable(code) || code === 'OFFSET_NOT_AVAILABLE';
}

/** The route for a partition changed from `previous` (or it disappeared, or became routable). */
export function routeChanged(image: MetadataImage, topic: string, partition: number, previous: PartitionRoute | undefined): boolean {
  const result = routePartition(image, topic, partition);
  if (!result.ok) return previous !== undefined && result.error.code === 'UNKNOWN_TOPIC_OR_PARTITION';
  return previous === undefined || !sameRoute(result.route, previous);
}
