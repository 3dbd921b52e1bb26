/**
 * The ISR updater's AlterPartition over the node session: the replica's domain proposals in
 * the controller's wire terms and back. A request the controller refused as a whole
 * (STALE_BROKER_EPOCH, BROKER_ID_NOT_REGISTERED, ...) is logged here and answers nothing, so
 * every proposal in it is made again on a later round.
 */
import type { AlterPartitionResult, IsrChangeInput } from '@starlane/metadata';
import { errorCodeFromProto, partitionFromProto, type NodeSession } from '@starlane/metadata-rpc';
import type { internalV1 } from '@starlane/proto';

export interface AlterPartitionLogger {
  warn(fields: object, message: string): void;
}

export async function alterPartitionThrough(
  session: Pick<NodeSession, 'alterPartition'> | undefined,
  changes: readonly IsrChangeInput[],
  timeoutMs: number,
  logger: AlterPartitionLogger,
): Promise<readonly AlterPartitionResult[] | undefined> {
  if (session === undefined) return undefined;
  const request: internalV1.PartitionIsrChange[] = changes.map((change) => ({
    topicId: change.topicId,
    // The name is for logs only; the controller goes by the id.
    topic: '',
    partition: change.partition,
    leaderEpoch: change.leaderEpoch,
    partitionEpoch: change.partitionEpoch,
    newIsr: change.newIsr.map((member) => ({ nodeId: member.nodeId, nodeEpoch: BigInt(member.nodeEpoch ?? -1) })),
  }));
  const response = await session.alterPartition(request, timeoutMs);
  if (response === undefined) return undefined;
  const refused = errorCodeFromProto(response.errorCode);
  if (refused !== undefined) {
    logger.warn({ errorCode: refused, error: response.errorMessage }, 'the controller refused an ISR change request');
    return undefined;
  }
  return response.partitions.map((result): AlterPartitionResult => {
    const code = errorCodeFromProto(result.errorCode);
    return {
      topicId: result.topicId,
      topic: result.topic,
      partition: result.partition,
      ...(result.state === undefined ? {} : { state: partitionFromProto(result.state) }),
      ...(code === undefined ? {} : { error: { code, message: result.errorMessage } }),
    };
  });
}
