/**
 * A `ControllerPort` whose answers each test scripts, recording every call with the simulated
 * time it was made at. A script returns the answer, throws to refuse (`refuse(code)`), or
 * returns a promise the test settles later (an answer still on its way).
 */
import type { Clock } from '@starlane/io-ports';
import type { AlterPartitionResult, HeartbeatResult, IsrChangeInput, NodeHeartbeat, NodeRegistrationRequest } from '@starlane/metadata';
import { StarlaneError, type ErrorCode } from '@starlane/model';
import type { ControllerPort, NodeRegistration } from '../controller-port';

type Script<Req, Res> = (request: Req, index: number) => Res | Promise<Res>;

export interface Recorded<Req> {
  readonly request: Req;
  readonly atMs: number;
  readonly timeoutMs: number | undefined;
}

export interface ShutdownRequest {
  readonly nodeId: number;
  readonly nodeEpoch: bigint;
}

export interface IsrChangeRequest {
  readonly nodeId: number;
  readonly nodeEpoch: bigint;
  readonly partitions: readonly IsrChangeInput[];
}

/** A refusal with `code`, as the port rejects. */
export function refuse(code: ErrorCode): never {
  throw new StarlaneError(code, `scripted ${code}`);
}

/** An answer the test gives later. */
export function held<T>(): { readonly promise: Promise<T>; answer(value: T): void; fail(error: unknown): void } {
  let answer: (value: T) => void = () => undefined;
  let fail: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((resolve, reject) => {
    answer = resolve;
    fail = reject;
  });
  return { promise, answer, fail };
}

export class ScriptedControllerPort implements ControllerPort {
  readonly registrationCalls: Recorded<NodeRegistrationRequest>[] = [];
  readonly heartbeatCalls: Recorded<NodeHeartbeat>[] = [];
  readonly shutdownCalls: Recorded<ShutdownRequest>[] = [];
  readonly isrChangeCalls: Recorded<IsrChangeRequest>[] = [];

  answerRegister: Script<NodeRegistrationRequest, NodeRegistration> = (_request, index) => ({
    nodeEpoch: BigInt(100 + index),
    clusterId: 'cluster-a',
    heartbeatIntervalMs: 20,
    sessionTimeoutMs: 1000,
  });
  answerHeartbeat: Script<NodeHeartbeat, HeartbeatResult> = () => ({ fenced: false, shouldShutDown: false });
  answerControlledShutdown: Script<ShutdownRequest, { readonly remainingLeaderships: readonly { readonly topic: string; readonly partition: number }[] }> = () => ({ remainingLeaderships: [] });
  answerAlterPartition: Script<IsrChangeRequest, readonly AlterPartitionResult[]> = (request) =>
    request.partitions.map((change) => ({ topicId: change.topicId, topic: change.topic ?? '', partition: change.partition }));

  constructor(private readonly clock: Clock) {}

  get registrations(): NodeRegistrationRequest[] {
    return this.registrationCalls.map((call) => call.request);
  }

  get heartbeats(): NodeHeartbeat[] {
    return this.heartbeatCalls.map((call) => call.request);
  }

  async registerNode(input: NodeRegistrationRequest): Promise<NodeRegistration> {
    return this.record(this.registrationCalls, input, undefined, this.answerRegister);
  }

  async heartbeat(input: NodeHeartbeat): Promise<HeartbeatResult> {
    return this.record(this.heartbeatCalls, input, undefined, this.answerHeartbeat);
  }

  async controlledShutdown(input: ShutdownRequest, timeoutMs?: number): Promise<{ readonly remainingLeaderships: readonly { readonly topic: string; readonly partition: number }[] }> {
    return this.record(this.shutdownCalls, input, timeoutMs, this.answerControlledShutdown);
  }

  async alterPartition(input: IsrChangeRequest, timeoutMs: number): Promise<readonly AlterPartitionResult[]> {
    return this.record(this.isrChangeCalls, input, timeoutMs, this.answerAlterPartition);
  }

  private record<Req, Res>(calls: Recorded<Req>[], request: Req, timeoutMs: number | undefined, script: Script<Req, Res>): Res | Promise<Res> {
    calls.push({ request, atMs: this.clock.nowMs(), timeoutMs });
    return script(request, calls.length - 1);
  }
}
