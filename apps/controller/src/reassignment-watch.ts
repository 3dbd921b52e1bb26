/**
 * AdminService.WatchReassignments on the active controller: the status of each watched
 * reassignment whenever it changes, a terminal status (COMPLETED or CANCELLED) when it ends,
 * and the end of the stream (OK) once none is left.
 *
 * Statuses are recomputed from the controller's state after each metadata change that touches
 * a watched topic, and sent only when they differ from the last one sent. While the connection
 * takes no more messages, changed partitions are remembered (not their statuses): on drain one
 * message carries the latest status of each, so a slow reader costs at most one entry per
 * watched partition, never a queue of stale statuses.
 */
import type * as grpc from '@grpc/grpc-js';
import { StarlaneError } from '@starlane/model';
import type { MetadataController, MetadataDelta, ReassignmentView } from '@starlane/metadata';
import { v1 } from '@starlane/proto';
import { toGrpcError } from '@starlane/service-host';
import type { MetadataStreams } from './controller-service';

/**
 * A reassignment in progress on the wire. Whether an adding replica is in sync is read from the
 * ISR; its lag needs the catch-up progress storage nodes report in heartbeats, which the
 * controller does not keep yet, so lag_offsets stays -1 ("not reported yet").
 */
export function reassignmentStatusToProto(view: ReassignmentView): v1.ReassignmentStatus {
  return {
    topic: view.topic,
    partition: view.partition,
    state: v1.ReassignmentState.IN_PROGRESS,
    replicas: [...view.replicas],
    addingReplicas: [...view.addingReplicas],
    removingReplicas: [...view.removingReplicas],
    progress: view.addingReplicas.map((nodeId) => ({ nodeId, inSync: view.isr.includes(nodeId), lagOffsets: -1n })),
    startedAtMs: BigInt(view.startedAtMs),
  };
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, index) => id === b[index]);
}

function sameStatus(a: v1.ReassignmentStatus, b: v1.ReassignmentStatus): boolean {
  return (
    a.state === b.state &&
    a.startedAtMs === b.startedAtMs &&
    sameIds(a.replicas, b.replicas) &&
    sameIds(a.addingReplicas, b.addingReplicas) &&
    sameIds(a.removingReplicas, b.removingReplicas) &&
    a.progress.length === b.progress.length &&
    a.progress.every((progress, index) => progress.nodeId === b.progress[index]?.nodeId && progress.inSync === b.progress[index]?.inSync)
  );
}

function byTopicAndPartition(a: v1.ReassignmentStatus, b: v1.ReassignmentStatus): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

interface Watched {
  readonly topicId: string;
  /** What a cancel restores; a reassignment that ends with these replicas was undone. */
  originalReplicas: readonly number[];
  /** The last status computed (sent, or waiting in `unsent`). */
  status: v1.ReassignmentStatus;
}

export interface ReassignmentWatchOptions {
  readonly controller: MetadataController;
  readonly streams: MetadataStreams;
  /** Most partitions a request may name. */
  readonly partitionsMax: number;
}

/**
 * Serves one WatchReassignments stream. The watched set is fixed when the call starts: the
 * named partitions that are being reassigned (every reassignment in progress when none is
 * named), so the watched set is bounded by the partitions of the cluster. A partition whose
 * reassignment is replaced by a new target stays watched and shows the new target.
 *
 * progress_interval_ms bounds how often progress-only (lag) updates are sent; the controller
 * has no lag to report (see reassignmentStatusToProto), so every update is a state change and
 * goes out at once, and the field has nothing to throttle.
 */
export function followReassignments(call: grpc.ServerWritableStream<v1.WatchReassignmentsRequest, v1.WatchReassignmentsResponse>, options: ReassignmentWatchOptions): void {
  const { controller, streams } = options;
  const request = call.request;
  if (request.partitions.length > options.partitionsMax) {
    const error = new StarlaneError('INVALID_REQUEST', `a request may name at most ${options.partitionsMax} partitions, got ${request.partitions.length}`);
    call.emit('error', toGrpcError(error));
    return;
  }
  const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
  const watched = new Map<string, Watched>();
  const unsent = new Set<string>();
  let blocked = false;
  let ended = false;

  const finish = (): void => {
    ended = true;
    unsent.clear();
    unsubscribe();
    forget();
  };

  // The state the statuses are read from and the subscription are taken in one turn of the
  // event loop, so no change falls between them.
  for (const view of controller.listReassignments(request.partitions.map(({ topic, partition }) => ({ topic, partition })))) {
    watched.set(key(view.topic, view.partition), { topicId: view.topicId, originalReplicas: view.originalReplicas, status: reassignmentStatusToProto(view) });
  }

  /** The status now: in progress, or how it ended (the topic deleted counts as cancelled). */
  const statusNow = (entry: Watched): v1.ReassignmentStatus => {
    const { topic, partition, startedAtMs } = entry.status;
    const view = controller.listReassignments([{ topic, partition }])[0];
    if (view !== undefined && view.topicId === entry.topicId) {
      entry.originalReplicas = view.originalReplicas;
      return reassignmentStatusToProto(view);
    }
    const image = controller.image();
    const name = image.topicNamesById.get(entry.topicId);
    const replicas = name === undefined ? [] : (image.topics.get(name)?.partitions[partition]?.replicas ?? []);
    const undone = name === undefined || sameIds(replicas, entry.originalReplicas);
    return {
      topic,
      partition,
      state: undone ? v1.ReassignmentState.CANCELLED : v1.ReassignmentState.COMPLETED,
      replicas: [...replicas],
      addingReplicas: [],
      removingReplicas: [],
      progress: [],
      startedAtMs,
    };
  };

  /** Sends the changed statuses in one message; ends the stream once nothing is left to watch. */
  const flush = (): void => {
    if (ended || blocked) return;
    if (unsent.size > 0) {
      const statuses: v1.ReassignmentStatus[] = [];
      for (const changed of unsent) {
        const entry = watched.get(changed);
        if (entry === undefined) continue;
        statuses.push(entry.status);
        if (entry.status.state !== v1.ReassignmentState.IN_PROGRESS) watched.delete(changed);
      }
      unsent.clear();
      if (!call.write({ reassignments: statuses.sort(byTopicAndPartition) })) blocked = true;
    }
    if (watched.size === 0) {
      finish();
      call.end();
    }
  };

  const onChange = (delta: MetadataDelta): void => {
    if (ended) return;
    const touched = new Set<string>();
    for (const { topicId } of delta.partitions) touched.add(topicId);
    for (const { topicId } of delta.deletedTopics) touched.add(topicId);
    for (const [watchedKey, entry] of watched) {
      if (!touched.has(entry.topicId) || entry.status.state !== v1.ReassignmentState.IN_PROGRESS) continue;
      const next = statusNow(entry);
      if (sameStatus(next, entry.status)) continue;
      entry.status = next;
      unsent.add(watchedKey);
    }
    flush();
  };

  const unsubscribe = controller.subscribe(onChange);
  // A controller that stops being active ends the stream as every admin call it refuses:
  // NOT_CONTROLLER, so the caller watches again through the new active controller.
  const forget = streams.add((reason) => {
    if (ended) return;
    finish();
    call.emit('error', toGrpcError(new StarlaneError('NOT_CONTROLLER', reason)));
  });
  call.on('drain', () => {
    blocked = false;
    flush();
  });
  call.on('cancelled', finish);
  call.on('close', finish);
  call.on('error', finish);

  // The first message holds every watched status (none when nothing is being reassigned).
  const first = [...watched.values()].map((entry) => entry.status).sort(byTopicAndPartition);
  if (!call.write({ reassignments: first })) blocked = true;
  if (watched.size === 0) {
    finish();
    call.end();
  }
}
