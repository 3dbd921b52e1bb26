/**
 * Read-only questions about a metadata image: describing and listing topics. Pure, and
 * answered from one image, so an answer never mixes two versions.
 */
import { StarlaneError, validateTopicName } from '@starlane/model';
import type { ItemError } from './commands';
import { reassignmentKey, type ControllerState } from './controller-state';
import { topicById, type MetadataImage, type NodeInfo, type PartitionState, type TopicState } from './image';

export interface TopicLookup {
  /** As asked (a name), or filled in from the topic. */
  readonly name: string;
  readonly topicId: string;
  readonly topic?: TopicState;
  readonly error?: ItemError;
}

/** Looks topics up by name, then by id; results in that order. */
export function lookupTopics(image: MetadataImage, names: readonly string[], topicIds: readonly string[]): TopicLookup[] {
  const byName = names.map((name): TopicLookup => {
    try {
      validateTopicName(name);
    } catch (error) {
      if (error instanceof StarlaneError) return { name, topicId: '', error: { code: error.code, message: error.message } };
      throw error;
    }
    const topic = image.topics.get(name);
    if (topic === undefined) return { name, topicId: '', error: { code: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic ${name} does not exist` } };
    return { name, topicId: topic.topicId, topic };
  });
  const byId = topicIds.map((topicId): TopicLookup => {
    const topic = topicById(image, topicId);
    if (topic === undefined) return { name: '', topicId, error: { code: 'UNKNOWN_TOPIC_ID', message: `no topic has id ${topicId}` } };
    return { name: topic.name, topicId, topic };
  });
  return [...byName, ...byId];
}

/** Most topics one ListTopics page holds, whatever the caller asks. */
export const listTopicsPageSizeMax = 10_000;
/** Page size when the caller leaves it at 0. */
export const listTopicsPageSizeDefault = 1000;

export interface TopicPage {
  readonly topics: readonly TopicState[];
  /** Empty on the last page. */
  readonly nextPageToken: string;
}

/**
 * One page of topics ordered by name. The token is the last name of the previous page
 * (base64url, so callers treat it as opaque); a page continues after it, so topics created or
 * deleted between pages neither repeat nor shift the listing.
 */
export function listTopics(image: MetadataImage, request: { readonly includeInternal: boolean; readonly pageSize: number; readonly pageToken: string }): TopicPage {
  if (!Number.isInteger(request.pageSize) || request.pageSize < 0) throw new StarlaneError('INVALID_REQUEST', `page_size must be >= 0, got ${request.pageSize}`);
  const size = Math.min(request.pageSize === 0 ? listTopicsPageSizeDefault : request.pageSize, listTopicsPageSizeMax);
  let after = '';
  if (request.pageToken !== '') {
    after = Buffer.from(request.pageToken, 'base64url').toString('utf8');
    if (after === '' || Buffer.from(after, 'utf8').toString('base64url') !== request.pageToken) throw new StarlaneError('INVALID_REQUEST', 'page_token is not one this server issued');
  }
  const candidates = [...image.topics.values()].filter((topic) => topic.name > after).sort((a, b) => (a.name < b.name ? -1 : 1));
  const topics: TopicState[] = [];
  let last = '';
  for (const topic of candidates) {
    if (topic.internal && !request.includeInternal) continue;
    if (topics.length === size) return { topics, nextPageToken: Buffer.from(last, 'utf8').toString('base64url') };
    topics.push(topic);
    last = topic.name;
  }
  return { topics, nextPageToken: '' };
}

/** Registered nodes ordered by id. */
export function nodesById(image: MetadataImage): NodeInfo[] {
  return [...image.nodes.values()].sort((a, b) => a.nodeId - b.nodeId);
}

/**
 * A topic's partitions as DescribeTopics shows them: `offlineReplicas` lists the replicas whose
 * node is fenced, not registered, or reported its log directory failed. It is derived from node states when asked rather than
 * recorded, so a node's fencing does not rewrite every partition it holds.
 */
export function describePartitions(image: MetadataImage, topic: TopicState): PartitionState[] {
  return topic.partitions.map((partition) => {
    const offline = partition.replicas.filter((id) => {
      const node = image.nodes.get(id);
      return node === undefined || node.state === 'fenced' || node.offlineLogDirIds.length > 0;
    });
    return offline.length === 0 && partition.offlineReplicas.length === 0 ? partition : { ...partition, offlineReplicas: offline };
  });
}

/** A partition's reassignment in progress, as ListReassignments reports it. */
export interface ReassignmentView {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  /** Every replica: the target first, then those being removed. */
  readonly replicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
  /** Which adding replicas are in sync is read from it. */
  readonly isr: readonly number[];
  readonly leader: number;
  /** The replicas it started from, which a cancel restores. */
  readonly originalReplicas: readonly number[];
  readonly startedAtMs: number;
}

/**
 * Reassignments in progress, ordered by topic name and partition: among `partitions`, or all
 * when it is empty. Partitions that do not exist or are not being reassigned are left out, as
 * ListReassignments does; the answer is at most one entry per partition asked or reassigning.
 */
export function listReassignments(state: ControllerState, partitions: readonly { readonly topic: string; readonly partition: number }[]): ReassignmentView[] {
  const views: ReassignmentView[] = [];
  const add = (topic: TopicState, partition: PartitionState): void => {
    const reassignment = state.reassignments.get(reassignmentKey(topic.topicId, partition.partition));
    if (reassignment === undefined) return;
    views.push({
      topic: topic.name,
      topicId: topic.topicId,
      partition: partition.partition,
      replicas: partition.replicas,
      addingReplicas: partition.addingReplicas,
      removingReplicas: partition.removingReplicas,
      isr: partition.isr,
      leader: partition.leader,
      originalReplicas: reassignment.originalReplicas,
      startedAtMs: reassignment.startedAtMs,
    });
  };
  if (partitions.length === 0) {
    for (const topic of state.image.topics.values()) for (const partition of topic.partitions) add(topic, partition);
  } else {
    const seen = new Set<string>();
    for (const { topic: name, partition: index } of partitions) {
      const topic = state.image.topics.get(name);
      const partition = topic?.partitions[index];
      if (topic === undefined || partition === undefined || seen.has(reassignmentKey(topic.topicId, index))) continue;
      seen.add(reassignmentKey(topic.topicId, index));
      add(topic, partition);
    }
  }
  return views.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}
