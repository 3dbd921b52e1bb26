/**
 * `starlane partitions ...`: move a partition's replicas to other storage nodes (or cancel a
 * move) and list the moves in progress. One AdminService call each.
 */
import type { v1 } from '@starlane/proto';
import { UsageError, exitCodes, itemFailure } from '../errors';
import { toJson } from '../json';
import { idList, renderTable } from '../table';
import { parseInteger } from '../values';
import type { CommandSpec } from '../command';

/** Most replicas one target may list (a replication factor is a positive int16 in Kafka). */
const targetReplicasMax = 32767;

/** Node ids from `2,3,4`: distinct non-negative integers, in the order given (the first is the preferred leader). */
export function parseReplicaList(text: string, option: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.length > targetReplicasMax) throw new UsageError(`${option} may list at most ${targetReplicasMax} node ids`);
  const ids = parts.map((part) => parseInteger(part, option, 0));
  const seen = new Set<number>();
  for (const id of ids) {
    if (seen.has(id)) throw new UsageError(`${option} lists node ${id} more than once`);
    seen.add(id);
  }
  return ids;
}

export const partitionsReassign: CommandSpec = {
  path: ['partitions', 'reassign'],
  summary: "Move a partition's replicas to other nodes, or cancel a move",
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    topic: { type: 'string', short: 't', valueName: 'TOPIC', description: 'Topic (required)' },
    partition: { type: 'string', short: 'p', valueName: 'N', description: 'Partition (required)' },
    replicas: { type: 'string', short: 'r', valueName: 'ID,...', description: 'Target node ids, preferred leader first' },
    cancel: { type: 'boolean', description: 'Cancel the move in progress, back to the original replicas' },
    'validate-only': { type: 'boolean', description: 'Check the request without changing anything' },
  },
  details: `The answer means the controller recorded the target; new replicas then copy the data
and join the ISR, and the move completes when all have (follow it with
'starlane partitions reassignments'). Replicas that leave delete their copy.

Examples:
  starlane partitions reassign --topic orders --partition 0 --replicas 2,3,4
  starlane partitions reassign --topic orders --partition 0 --cancel`,
  async run(context, args) {
    const command = 'partitions reassign';
    const topic = args.string('topic');
    const partitionText = args.string('partition');
    if (topic === undefined) throw new UsageError('--topic TOPIC is required', command);
    if (partitionText === undefined) throw new UsageError('--partition N is required', command);
    const partition = parseInteger(partitionText, '--partition', 0);
    const cancel = args.flag('cancel');
    const replicasText = args.string('replicas');
    if (cancel === (replicasText !== undefined)) throw new UsageError('give either --replicas ID,... or --cancel', command);
    const targetReplicas = replicasText === undefined ? [] : parseReplicaList(replicasText, '--replicas');
    const validateOnly = args.flag('validate-only');
    const response = await context.gateway.reassignPartitions({ partitions: [{ topic, partition, targetReplicas, cancel }], validateOnly, timeoutMs: context.callTimeoutMs });
    let failed = false;
    for (const result of response.results) {
      const failure = itemFailure(result.errorCode, result.errorMessage, `partition ${result.partition} of topic ${result.topic}`);
      if (failure !== undefined) {
        context.note(`error: ${failure.describe()}`);
        failed = true;
        continue;
      }
      const where = `partition ${result.partition} of topic ${result.topic}`;
      if (cancel) context.print(validateOnly ? `The move of ${where} can be cancelled.` : `Cancelled the move of ${where}.`);
      else context.print(validateOnly ? `Moving ${where} to ${idList(targetReplicas)} is valid.` : `Moving ${where} to ${idList(targetReplicas)}.`);
    }
    return failed ? exitCodes.serverError : exitCodes.ok;
  },
};

function inSyncAdding(status: v1.ReassignmentStatus): number[] {
  return status.progress.filter((progress) => progress.inSync).map((progress) => progress.nodeId);
}

export const partitionsReassignments: CommandSpec = {
  path: ['partitions', 'reassignments'],
  summary: 'List partition moves in progress',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    topic: { type: 'string', short: 't', valueName: 'TOPIC', description: 'Only moves of this topic' },
    json: { type: 'boolean', description: 'Print one JSON object per move' },
  },
  details: `REPLICAS is the whole replica set while a move runs: the target first, then the
replicas being removed. ADDING lists the new replicas, IN-SYNC those of them already in the ISR
(the move completes when all are), REMOVING the replicas that leave when it completes.`,
  async run(context, args) {
    const topic = args.string('topic');
    const response = await context.gateway.listReassignments({ partitions: [] });
    const moves = response.reassignments.filter((status) => topic === undefined || status.topic === topic);
    if (args.flag('json')) {
      for (const status of moves) {
        context.print(
          toJson({
            topic: status.topic,
            partition: status.partition,
            replicas: status.replicas,
            addingReplicas: status.addingReplicas,
            removingReplicas: status.removingReplicas,
            inSyncAddingReplicas: inSyncAdding(status),
            startedAtMs: status.startedAtMs,
          }),
        );
      }
      return exitCodes.ok;
    }
    const rows = moves.map((status) => [
      status.topic,
      String(status.partition),
      idList(status.replicas),
      idList(status.addingReplicas),
      idList(inSyncAdding(status)),
      idList(status.removingReplicas),
      new Date(Number(status.startedAtMs)).toISOString(),
    ]);
    for (const line of renderTable(['TOPIC', 'PARTITION', 'REPLICAS', 'ADDING', 'IN-SYNC', 'REMOVING', 'STARTED'], rows)) context.print(line);
    return exitCodes.ok;
  },
};

export const partitionCommands: readonly CommandSpec[] = [partitionsReassign, partitionsReassignments];
