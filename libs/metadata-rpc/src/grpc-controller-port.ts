/**
 * The controller port of a storage node (`ControllerPort` of `@starlane/replica`) over
 * `starlane.internal.v1.ControllerService`: each call is one unary gRPC call to the address
 * `ControllerChannel` names, translated between the domain messages of `@starlane/metadata` and
 * proto. It fits the port by its shape and does not import it: this library is a dependency of
 * the launcher and the testing library, which the replica's tests use, so an import would make
 * a cycle (the storage node, which wires the two, checks the fit).
 *
 * A NOT_CONTROLLER answer is followed (the next call goes to the active controller it names, or
 * to the next bootstrap address when it names none) and an address that does not answer is
 * rotated away from; both then reject, NOT_CONTROLLER and CONTROLLER_NOT_AVAILABLE, so the
 * caller (`NodeLifecycle`) backs off before it calls again. Any other error code of an answer
 * rejects with that code.
 */
import type * as grpc from '@grpc/grpc-js';
import type { AlterPartitionResult, HeartbeatResult, IsrChangeInput, NodeHeartbeat, NodeRegistrationRequest, NodeRegistrationResult } from '@starlane/metadata';
import { StarlaneError, transportDetail } from '@starlane/model';
import type { internalV1 } from '@starlane/proto';
import { errorCodeFromProto, partitionFromProto } from './codec';
import { ControllerChannel, type UnaryInvoker } from './controller-channel';

/** The fields every ControllerService answer carries to say it was refused. */
interface Answer {
  readonly errorCode: number;
  readonly errorMessage: string;
  readonly activeController?: internalV1.ControllerLocation | undefined;
}

/** Redirects a request that must reach the active controller may follow, beyond one call per bootstrap address. */
export const redirectsInARowMax = 3;

export class GrpcControllerPort {
  private readonly channel: ControllerChannel;

  /** `controllers`: the bootstrap addresses (host:port); `requestTimeoutMs`: the deadline of a call that gives none. */
  constructor(
    private readonly controllers: readonly string[],
    requestTimeoutMs?: number,
  ) {
    this.channel = new ControllerChannel(controllers, requestTimeoutMs);
  }

  /**
   * Calls after which a request has been to every bootstrap address and followed a few
   * redirects: how many attempts an ISR change request is given (`NodeLifecycle`'s
   * `isrChangeAttemptsMax`), so it reaches the active controller from any address.
   */
  get callsToReachActiveMax(): number {
    return this.controllers.length + redirectsInARowMax + 1;
  }

  /** The address the next call goes to. */
  target(): string {
    return this.channel.target();
  }

  async registerNode(input: NodeRegistrationRequest): Promise<NodeRegistrationResult> {
    const request: internalV1.RegisterNodeRequest = {
      nodeId: input.nodeId,
      incarnationId: input.incarnationId,
      clusterId: input.clusterId,
      host: input.host,
      port: input.port,
      rack: input.rack,
      logDirs: input.logDirs.map((dir) => ({ dirId: dir.dirId, path: dir.path })),
      cleanShutdown: input.cleanShutdown ?? true,
      softwareVersion: input.softwareVersion,
    };
    const response = await this.call<internalV1.RegisterNodeResponse>((client, ...rest) => client.registerNode(request, ...rest));
    return { nodeEpoch: response.nodeEpoch, clusterId: response.clusterId, heartbeatIntervalMs: response.heartbeatIntervalMs, sessionTimeoutMs: response.sessionTimeoutMs };
  }

  async heartbeat(input: NodeHeartbeat): Promise<HeartbeatResult> {
    const request: internalV1.HeartbeatRequest = {
      nodeId: input.nodeId,
      nodeEpoch: input.nodeEpoch,
      metadataVersion: BigInt(input.metadataVersion),
      offlineLogDirIds: [...input.offlineLogDirIds],
      reassignmentProgress: [],
    };
    const response = await this.call<internalV1.HeartbeatResponse>((client, ...rest) => client.heartbeat(request, ...rest));
    return { fenced: response.fenced, shouldShutDown: response.shouldShutDown };
  }

  async controlledShutdown(input: { readonly nodeId: number; readonly nodeEpoch: bigint }, timeoutMs?: number): Promise<{ readonly remainingLeaderships: readonly { readonly topic: string; readonly partition: number }[] }> {
    const request: internalV1.ControlledShutdownRequest = { nodeId: input.nodeId, nodeEpoch: input.nodeEpoch };
    const response = await this.call<internalV1.ControlledShutdownResponse>((client, ...rest) => client.controlledShutdown(request, ...rest), timeoutMs);
    return { remainingLeaderships: response.remainingLeaderships.map((leadership) => ({ topic: leadership.topic, partition: leadership.partition })) };
  }

  async alterPartition(input: { readonly nodeId: number; readonly nodeEpoch: bigint; readonly partitions: readonly IsrChangeInput[] }, timeoutMs: number): Promise<readonly AlterPartitionResult[]> {
    const request: internalV1.AlterPartitionRequest = { nodeId: input.nodeId, nodeEpoch: input.nodeEpoch, partitions: input.partitions.map(isrChangeToProto) };
    const response = await this.call<internalV1.AlterPartitionResponse>((client, ...rest) => client.alterPartition(request, ...rest), timeoutMs);
    return response.partitions.map(alterPartitionResultFromProto);
  }

  close(): void {
    this.channel.close();
  }

  /** One call to the address the channel names: its answer, or a rejection with the code it carried (redirects followed, silent addresses rotated away from). */
  private async call<Res extends Answer>(invoke: UnaryInvoker<Res>, timeoutMs?: number): Promise<Res> {
    const address = this.channel.target();
    const result = await this.channel.unary(address, invoke, timeoutMs);
    if (!result.ok) {
      this.channel.unreachable();
      throw new StarlaneError('CONTROLLER_NOT_AVAILABLE', `the controller at ${address} did not answer: ${grpcFailureText(result.error)}`, { cause: result.error });
    }
    const code = errorCodeFromProto(result.value.errorCode);
    if (code === undefined) return result.value;
    if (code === 'NOT_CONTROLLER') this.channel.follow(result.value.activeController);
    const detail = result.value.errorMessage === '' ? '' : `: ${result.value.errorMessage}`;
    throw new StarlaneError(code, `the controller at ${address} answered ${code}${detail}`);
  }
}

function grpcFailureText(error: grpc.ServiceError): string {
  return `gRPC status ${error.code}, ${transportDetail(error.details)}`;
}

/** A domain ISR change as the wire carries it (node epochs as int64; 0 when not quoted). */
export function isrChangeToProto(change: IsrChangeInput): internalV1.PartitionIsrChange {
  return {
    topicId: change.topicId,
    topic: change.topic ?? '',
    partition: change.partition,
    leaderEpoch: change.leaderEpoch,
    partitionEpoch: change.partitionEpoch,
    newIsr: change.newIsr.map((member) => ({ nodeId: member.nodeId, nodeEpoch: BigInt(member.nodeEpoch ?? 0) })),
  };
}

/** A proto ISR change as the domain takes it (the inverse of `isrChangeToProto`). */
export function isrChangeFromProto(change: internalV1.PartitionIsrChange): IsrChangeInput {
  return {
    topicId: change.topicId,
    topic: change.topic,
    partition: change.partition,
    leaderEpoch: change.leaderEpoch,
    partitionEpoch: change.partitionEpoch,
    newIsr: change.newIsr.map((member) => ({ nodeId: member.nodeId, nodeEpoch: Number(member.nodeEpoch) })),
  };
}

export function alterPartitionResultFromProto(result: internalV1.AlterPartitionResult): AlterPartitionResult {
  const code = errorCodeFromProto(result.errorCode);
  return {
    topicId: result.topicId,
    topic: result.topic,
    partition: result.partition,
    ...(result.state === undefined ? {} : { state: partitionFromProto(result.state) }),
    ...(code === undefined ? {} : { error: { code, message: result.errorMessage } }),
  };
}
