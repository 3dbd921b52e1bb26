/**
 * Metadata records: the only way cluster metadata changes. The controller turns every command
 * into a batch of records, makes the batch durable in its store, then applies it to its state;
 * recovery replays the same records, so the state after a restart is exactly the state before.
 *
 * Each record carries the full new state of the thing it names (a node registration, a
 * partition, a topic's config overrides), never a field-by-field change, so applying a record
 * is replacing an entry, and a snapshot is simply the records that recreate the current state.
 *
 * Encoded as JSON objects with a `type` tag (bigints as decimal strings). Decoding checks every
 * field, so a record that passed its checksum but is not what this code writes is refused
 * rather than half-applied.
 */
import { StarlaneError } from '@starlane/model';
import type { ConfigMap, NodeState, PartitionState } from './image';

/** The cluster id, fixed when the cluster is formed. Always the first record of a store. */
export interface ClusterRecord {
  readonly type: 'cluster';
  readonly clusterId: string;
}

/** A controller became active. Its epoch increases with every activation. */
export interface ControllerRecord {
  readonly type: 'controller';
  readonly controllerId: number;
  readonly controllerEpoch: number;
  readonly host: string;
  readonly port: number;
}

/**
 * A node's registration and state, in full. A new registration gets `nodeEpoch` equal to the
 * metadata version of the batch that records it (as Kafka's broker epoch is the registration
 * record's offset): unique, increasing, and also the version a node must have applied before it
 * may be unfenced, since it is the first version that knows about this registration.
 */
export interface NodeRecord {
  readonly type: 'node';
  readonly nodeId: number;
  readonly nodeEpoch: number;
  readonly incarnationId: string;
  readonly host: string;
  readonly port: number;
  readonly rack: string;
  readonly state: NodeState;
  /**
   * Whether the incarnation reported that its previous run shut down cleanly (every log
   * flushed). False after a crash: the node may have lost records it had acknowledged, so its
   * replicas come after clean in-sync replicas in leader elections. Absent in records written
   * before nodes reported it, which means true.
   */
  readonly cleanShutdown?: boolean;
  /**
   * Log directories the incarnation reported failed (heartbeats' offline_log_dir_ids). Every
   * replica of the node lives in its one log directory, so any entry means none of them can
   * serve: the node leads nothing and joins no ISR until a new incarnation registers. Absent
   * in records written before nodes reported it, which means none.
   */
  readonly offlineLogDirIds?: readonly string[];
}

/** A new topic. Its partitions follow as PartitionRecords in the same batch. */
export interface TopicRecord {
  readonly type: 'topic';
  readonly topicId: string;
  readonly name: string;
  readonly internal: boolean;
  readonly configs: ConfigMap;
}

/** The full state of one partition: a new one, or a change of leader, epochs, replicas or ISR. */
export interface PartitionRecord {
  readonly type: 'partition';
  readonly topicId: string;
  readonly partition: PartitionState;
}

/**
 * A partition's reassignment in progress: the replicas it started from, in their order (the
 * partition's own list has the target first, so a cancel restores the order from here), and
 * when it started (`ReassignmentStatus.started_at_ms`). Controller state, not published. It
 * follows, in the same batch, the partition record that starts the reassignment; a later
 * partition record without adding or removing replicas ends it.
 */
export interface ReassignmentRecord {
  readonly type: 'reassignment';
  readonly topicId: string;
  readonly partition: number;
  readonly originalReplicas: readonly number[];
  readonly startedAtMs: number;
}

/** The complete new set of a topic's config overrides. */
export interface TopicConfigsRecord {
  readonly type: 'topic-configs';
  readonly topicId: string;
  readonly configs: ConfigMap;
}

export interface RemoveTopicRecord {
  readonly type: 'remove-topic';
  readonly topicId: string;
}

/** The complete new set of cluster-wide config defaults. */
export interface ClusterConfigsRecord {
  readonly type: 'cluster-configs';
  readonly configs: ConfigMap;
}

/** Producer ids below `nextProducerId` have been handed out and are never handed out again. */
export interface ProducerIdsRecord {
  readonly type: 'producer-ids';
  readonly nextProducerId: bigint;
}

export type MetadataRecord =
  | ClusterRecord
  | ControllerRecord
  | NodeRecord
  | TopicRecord
  | PartitionRecord
  | ReassignmentRecord
  | TopicConfigsRecord
  | RemoveTopicRecord
  | ClusterConfigsRecord
  | ProducerIdsRecord;

/** A batch of records applied atomically, taking metadata from `baseVersion` to `version`. */
export interface MetadataBatch {
  readonly baseVersion: number;
  /** `baseVersion + records.length`: every record advances the version by one. */
  readonly version: number;
  readonly records: readonly MetadataRecord[];
}

/** Most records in one batch: a command that would need more is refused before it is recorded. */
export const batchRecordsMax = 100_000;

/** A record as a JSON-compatible value. */
export function recordToJson(record: MetadataRecord): unknown {
  return record.type === 'producer-ids' ? { type: record.type, nextProducerId: record.nextProducerId.toString() } : record;
}

function corrupt(why: string): never {
  throw new StarlaneError('STORAGE_UNAVAILABLE', `metadata record is not valid: ${why}`);
}

type Json = Record<string, unknown>;

function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) corrupt(`${what} is not an object`);
  return value as Json;
}

function string(json: Json, key: string): string {
  const value = json[key];
  if (typeof value !== 'string') corrupt(`${key} is not a string`);
  return value;
}

function int(json: Json, key: string, min: number): number {
  const value = json[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) corrupt(`${key} is not an integer >= ${min}`);
  return value;
}

function ints(json: Json, key: string): number[] {
  const value = json[key];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'number' && Number.isSafeInteger(item))) corrupt(`${key} is not a list of integers`);
  return value as number[];
}

function configs(json: Json, key: string): ConfigMap {
  const value = object(json[key], key);
  for (const [name, setting] of Object.entries(value)) if (typeof setting !== 'string') corrupt(`config ${name} is not a string`);
  return value as ConfigMap;
}

const nodeStates: readonly NodeState[] = ['active', 'fenced', 'controlled-shutdown'];

function partitionFromJson(value: unknown): PartitionState {
  const json = object(value, 'partition');
  return {
    partition: int(json, 'partition', 0),
    leader: int(json, 'leader', -1),
    leaderEpoch: int(json, 'leaderEpoch', 0),
    partitionEpoch: int(json, 'partitionEpoch', 0),
    replicas: ints(json, 'replicas'),
    isr: ints(json, 'isr'),
    // Absent in records, snapshots and etcd values written before eligible leader replicas.
    elr: json['elr'] === undefined ? [] : ints(json, 'elr'),
    offlineReplicas: ints(json, 'offlineReplicas'),
    addingReplicas: ints(json, 'addingReplicas'),
    removingReplicas: ints(json, 'removingReplicas'),
  };
}

/** The record a JSON value holds; STORAGE_UNAVAILABLE if it is not one this code writes. */
export function recordFromJson(value: unknown): MetadataRecord {
  const json = object(value, 'record');
  const type = json['type'];
  switch (type) {
    case 'cluster':
      return { type, clusterId: string(json, 'clusterId') };
    case 'controller':
      return { type, controllerId: int(json, 'controllerId', 0), controllerEpoch: int(json, 'controllerEpoch', 0), host: string(json, 'host'), port: int(json, 'port', 0) };
    case 'node': {
      const state = string(json, 'state') as NodeState;
      if (!nodeStates.includes(state)) corrupt(`node state ${state} is unknown`);
      const cleanShutdown = json['cleanShutdown'];
      if (cleanShutdown !== undefined && typeof cleanShutdown !== 'boolean') corrupt('cleanShutdown is not a boolean');
      const offlineLogDirIds = json['offlineLogDirIds'];
      if (offlineLogDirIds !== undefined && (!Array.isArray(offlineLogDirIds) || !offlineLogDirIds.every((id) => typeof id === 'string'))) corrupt('offlineLogDirIds is not a list of strings');
      return {
        type,
        nodeId: int(json, 'nodeId', 0),
        nodeEpoch: int(json, 'nodeEpoch', 0),
        incarnationId: string(json, 'incarnationId'),
        host: string(json, 'host'),
        port: int(json, 'port', 0),
        rack: string(json, 'rack'),
        state,
        ...(cleanShutdown === undefined ? {} : { cleanShutdown }),
        ...(offlineLogDirIds === undefined ? {} : { offlineLogDirIds: offlineLogDirIds as string[] }),
      };
    }
    case 'topic':
      if (typeof json['internal'] !== 'boolean') corrupt('internal is not a boolean');
      return { type, topicId: string(json, 'topicId'), name: string(json, 'name'), internal: json['internal'], configs: configs(json, 'configs') };
    case 'partition':
      return { type, topicId: string(json, 'topicId'), partition: partitionFromJson(json['partition']) };
    case 'reassignment':
      return { type, topicId: string(json, 'topicId'), partition: int(json, 'partition', 0), originalReplicas: ints(json, 'originalReplicas'), startedAtMs: int(json, 'startedAtMs', 0) };
    case 'topic-configs':
      return { type, topicId: string(json, 'topicId'), configs: configs(json, 'configs') };
    case 'remove-topic':
      return { type, topicId: string(json, 'topicId') };
    case 'cluster-configs':
      return { type, configs: configs(json, 'configs') };
    case 'producer-ids': {
      const next = string(json, 'nextProducerId');
      if (!/^\d+$/.test(next)) corrupt('nextProducerId is not a decimal integer');
      return { type, nextProducerId: BigInt(next) };
    }
    default:
      return corrupt(`unknown record type ${JSON.stringify(type)}`);
  }
}

/** A batch as JSON-compatible value. */
export function batchToJson(batch: MetadataBatch): unknown {
  return { baseVersion: batch.baseVersion, version: batch.version, records: batch.records.map(recordToJson) };
}

export function batchFromJson(value: unknown): MetadataBatch {
  const json = object(value, 'batch');
  const baseVersion = int(json, 'baseVersion', 0);
  const version = int(json, 'version', 0);
  const records = json['records'];
  if (!Array.isArray(records)) corrupt('records is not a list');
  if (version !== baseVersion + records.length) corrupt(`batch ${baseVersion}..${version} holds ${records.length} records`);
  return { baseVersion, version, records: records.map(recordFromJson) };
}
