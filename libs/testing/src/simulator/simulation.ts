/**
 * One seeded run of a simulated cluster: the real MetadataController on its file store, N
 * nodes (SimNode: the replica code under test), clients, a faulty network and a fault schedule,
 * all on one simulated clock. The run forms the cluster, creates the topics, then moves time
 * in steps; every step may start a fault, and after every step the safety checks run. Faults
 * stop for the last part of the run so the liveness check always gets its chance.
 *
 * Everything random is drawn from the seed, each part from its own stream (a change in how
 * one part draws does not reshuffle the others), so a seed replays the same run.
 */
import type { MetadataImage, NewTopicInput } from '@starlane/metadata';
import { seededRandom } from '../random';
import { checkAcknowledgedWrites, checkCommittedPrefixes, partitionsNotRecovered, type ReplicaSnapshot } from './checks';
import { clientSettingsDefault, SimClients, type ClientSettings } from './clients';
import { ControllerHost, controllerEndpoint, type ControllerSettings } from './controller-host';
import { FaultInjector, faultSettingsDefault, type FaultKind, type FaultSettings } from './faults';
import { LogSnapshots, type LogReadStats } from './log-snapshots';
import { messageFaultCount, networkSettingsDefault, SimNetwork, type NetworkSettings, type NetworkStats } from './network';
import { DeadProcessError, NodeHost, nodeEndpoint } from './node-host';
import type { SimNodeFactory } from './sim-node';
import { SimClock, SimScheduler, simulatedEpochMs } from './sim-time';
import { failureReport, SimTrace, traceEventsMax } from './trace';

export interface SimulationOptions<Req, Res> {
  readonly seed: number;
  /** Steps of `stepMs` simulated milliseconds after the cluster formed. */
  readonly steps: number;
  readonly nodeFactory: SimNodeFactory<Req, Res>;
  readonly nodeCount?: number;
  readonly topics?: readonly NewTopicInput[];
  readonly stepMs?: number;
  /** Steps at the end without new faults (the liveness check's window); at most half the run. */
  readonly quietSteps?: number;
  /** After every fault is over: simulated time and messages within which every partition is back to its full ISR. */
  readonly livenessBoundMs?: number;
  readonly livenessMessagesMax?: number;
  readonly controller?: ControllerSettings;
  readonly network?: NetworkSettings;
  readonly faults?: FaultSettings;
  readonly clients?: ClientSettings;
  readonly traceEventsMax?: number;
}

export const simulationDefaults = {
  nodeCount: 3,
  stepMs: 10,
  quietSteps: 1000,
  livenessBoundMs: 12_000,
  livenessMessagesMax: 100_000,
  /** How long the cluster may take to form (register, create topics, fill the ISRs). */
  formationMsMax: 30_000,
  controller: { heartbeatIntervalMs: 100, sessionTimeoutMs: 600 } satisfies ControllerSettings,
  topics: [
    { name: 'sim-a', partitionCount: 2, replicationFactor: 3, replicaAssignments: [], configs: { 'min.insync.replicas': '2' } },
    { name: 'sim-b', partitionCount: 1, replicationFactor: 3, replicaAssignments: [], configs: { 'min.insync.replicas': '2' } },
  ] satisfies NewTopicInput[],
};

export interface SimulationResult {
  readonly seed: number;
  readonly ok: boolean;
  /** The failing step and a report with the trace (absent when ok). */
  readonly failure?: { readonly step: number; readonly message: string; readonly report: string };
  readonly stepsRun: number;
  /** Every fault the run injected: `scheduledFaults` + `messageFaults` (see docs/simulator.md). */
  readonly faults: number;
  /** Faults the schedule started (crashes, kills, pauses, partitions, loss bursts, controller crashes). */
  readonly scheduledFaults: number;
  readonly faultsByKind: ReadonlyMap<FaultKind, number>;
  /** Message faults the network dealt (`messageFaultCount`): lost requests and answers, broken streams. */
  readonly messageFaults: number;
  /** What the per-step log checks read. */
  readonly logReads: LogReadStats;
  readonly simulatedMs: number;
  readonly network: NetworkStats;
  readonly acknowledgedAll: number;
  /** Digest of the whole trace: the same seed must give the same digest. */
  readonly traceDigest: string;
}

/** Stream ids of the parts' PRNGs (xored into the seed). */
const streams = { network: 0x1001, faults: 0x2002, clients: 0x3003, controller: 0x4004 };

class RunFailure extends Error {}

export async function runSimulation<Req, Res>(options: SimulationOptions<Req, Res>): Promise<SimulationResult> {
  const settings = { ...simulationDefaults, ...options };
  const failures: string[] = [];
  const fail = (message: string): void => {
    failures.push(message);
  };
  const clock = new SimClock();
  const scheduler = new SimScheduler(clock, (error) => fail(`a task threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`));
  const trace = new SimTrace(clock, options.traceEventsMax ?? traceEventsMax);
  const random = (stream: number): (() => number) => seededRandom((options.seed ^ stream) >>> 0);
  const network = new SimNetwork(clock, random(streams.network), trace, settings.network ?? networkSettingsDefault);
  const controller = new ControllerHost(clock, scheduler, network, trace, random(streams.controller), settings.controller, fail);
  const nodeIds = Array.from({ length: settings.nodeCount }, (_, i) => i + 1);
  const hosts = new Map<number, NodeHost<Req, Res>>();
  for (const id of nodeIds) hosts.set(id, new NodeHost(id, settings.nodeFactory, clock, scheduler, network, controller, (n) => hosts.get(n), trace, fail));
  let lastImage: MetadataImage | undefined;
  const image = (): MetadataImage | undefined => (lastImage = controller.active?.image() ?? lastImage);
  // Leader and ISR changes go to the trace: most failures are read from them.
  const partitionStates = new Map<string, string>();
  const traceMetadata = (): void => {
    const current = image();
    if (current === undefined) return;
    for (const topic of current.topics.values()) {
      for (const state of topic.partitions) {
        const key = `${topic.name}-${state.partition}`;
        const text = `leader ${state.leader} epoch ${state.leaderEpoch} isr [${state.isr.join(',')}]`;
        if (partitionStates.get(key) === text) continue;
        partitionStates.set(key, text);
        trace.record(`metadata v${current.version}: ${key} ${text}`);
      }
    }
  };
  let targets: { topicId: string; partition: number }[] = [];
  /** Each crashed or killed node's registration epoch before it went down (see `recovered` below). */
  const registrationBeforeCrash = new Map<number, number>();
  const clients = new SimClients(scheduler, network, trace, random(streams.clients), image, (id) => hosts.get(id)?.node, () => targets, settings.clients ?? clientSettingsDefault);
  const startController = (): void => {
    controller.start().catch((error: unknown) => fail(`controller failed to open: ${error instanceof Error ? error.message : String(error)}`));
  };
  const faults = new FaultInjector(
    scheduler,
    random(streams.faults),
    {
      nodeIds,
      network,
      endpoints: () => [controllerEndpoint, ...nodeIds.map(nodeEndpoint), ...clientEndpoints(settings.clients ?? clientSettingsDefault)],
      nodeEndpoint,
      crashNode: (id, torn) => {
        registrationBeforeCrash.set(id, image()?.nodes.get(id)?.nodeEpoch ?? -1);
        hosts.get(id)?.crash(torn);
      },
      killNode: (id) => {
        registrationBeforeCrash.set(id, image()?.nodes.get(id)?.nodeEpoch ?? -1);
        hosts.get(id)?.kill();
      },
      startNode: (id) => hosts.get(id)?.start(),
      pauseNode: (id) => hosts.get(id)?.pause(),
      resumeNode: (id) => hosts.get(id)?.resume(),
      crashController: (torn) => controller.crash(torn),
      startController,
      recovered: (id) => {
        // Judged on the controller's current image only, and, after a crash, only once it
        // shows the new incarnation's registration: until then its ISR memberships are stale.
        const current = controller.active?.image();
        const registration = current?.nodes.get(id);
        if (current === undefined || registration?.state !== 'active' || hosts.get(id)?.status !== 'up') return false;
        if (registration.nodeEpoch <= (registrationBeforeCrash.get(id) ?? -1)) return false;
        for (const topic of current.topics.values()) for (const state of topic.partitions) if (state.replicas.includes(id) && !state.isr.includes(id)) return false;
        registrationBeforeCrash.delete(id);
        return true;
      },
    },
    trace,
    settings.faults ?? faultSettingsDefault,
  );

  const history = new Map<string, Map<bigint, string>>();
  const logs = new LogSnapshots<Req, Res>();
  let step = 0;
  const check = (): void => {
    if (failures.length > 0) throw new RunFailure(failures[0]);
    if (clients.violations.length > 0) throw new RunFailure(clients.violations[0]);
  };
  // After every step: what each replica's log gained since the last step (log-snapshots.ts).
  const checkLogs = async (): Promise<void> => {
    const replicas: ReplicaSnapshot[] = await logs.read(hosts.values());
    const { violations, additions } = checkCommittedPrefixes(history, replicas);
    for (const [key, added] of additions) {
      let known = history.get(key);
      if (known === undefined) history.set(key, (known = new Map()));
      for (const [offset, value] of added) known.set(offset, value);
    }
    const current = image();
    if (current !== undefined) violations.push(...checkAcknowledgedWrites(clients.ledger, history, current, replicas));
    if (violations.length > 0) throw new RunFailure(violations[0]);
    logs.advance(replicas, history);
  };

  const until = async (done: () => boolean, withinMs: number, what: string | (() => string)): Promise<void> => {
    const deadline = clock.nowMs() + withinMs;
    while (!done()) {
      if (clock.nowMs() >= deadline) throw new RunFailure(`${typeof what === 'string' ? what : what()} within ${withinMs} ms`);
      await scheduler.advance(settings.stepMs);
      traceMetadata();
      check();
      await checkLogs();
    }
  };

  let quietSinceMs: number | undefined;
  let quietSinceMessages = 0;
  const checkLiveness = (): void => {
    const allUp = [...hosts.values()].every((host) => host.status === 'up') && controller.isUp;
    if (faults.active || !allUp || !network.healthy) {
      quietSinceMs = undefined;
      return;
    }
    const current = image();
    const lagging = current === undefined ? ['no metadata'] : partitionsNotRecovered(current);
    if (lagging.length === 0) {
      quietSinceMs = undefined;
      return;
    }
    if (quietSinceMs === undefined) {
      quietSinceMs = clock.nowMs();
      quietSinceMessages = network.stats.delivered;
      return;
    }
    const quietMs = clock.nowMs() - quietSinceMs;
    const messages = network.stats.delivered - quietSinceMessages;
    if (quietMs > settings.livenessBoundMs || messages > settings.livenessMessagesMax) {
      throw new RunFailure(`liveness: ${quietMs} ms and ${messages} messages after the last fault healed, not recovered: ${lagging.join('; ')}`);
    }
  };

  // A rejection nobody handles would end a real process (Node's default): a defect of the code
  // under test, unless it comes from a dead incarnation, which in reality runs nothing. (Under
  // jest, jest takes unhandled rejections first and fails the test itself.)
  const onUnhandled = (reason: unknown): void => {
    if (!(reason instanceof DeadProcessError)) fail(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    startController();
    await until(() => controller.isUp, settings.formationMsMax, 'the controller did not open');
    for (const host of hosts.values()) host.start();
    await until(() => nodeIds.every((id) => image()?.nodes.get(id)?.state === 'active'), settings.formationMsMax, 'the nodes did not register');
    const created = await controller.active?.createTopics({ topics: settings.topics, validateOnly: false });
    for (const result of created ?? []) if (result.error !== undefined) throw new RunFailure(`topic ${result.name} not created: ${result.error.message}`);
    await until(() => image() !== undefined && partitionsNotRecovered(image() as MetadataImage).length === 0, settings.formationMsMax, 'the partitions did not form');
    targets = [...(image()?.topics.values() ?? [])].flatMap((topic) => topic.partitions.map((p) => ({ topicId: topic.topicId, partition: p.partition })));
    trace.record(`cluster formed: ${nodeIds.length} nodes, ${targets.length} partitions`);
    clients.start();

    // A short run keeps at least half its steps for faults.
    const faultSteps = settings.steps - Math.min(settings.quietSteps, Math.floor(settings.steps / 2));
    for (step = 1; step <= settings.steps; step++) {
      trace.step = step;
      if (step <= faultSteps) faults.maybeInject();
      await scheduler.advance(settings.stepMs);
      traceMetadata();
      check();
      await checkLogs();
      checkLiveness();
    }
    step = settings.steps;
    // The run ends recovered: no fault may still be in effect, and every partition at its full ISR.
    await until(() => !faults.active && partitionsNotRecovered(image() as MetadataImage).length === 0, settings.livenessBoundMs, () => {
      const lagging = partitionsNotRecovered(image() as MetadataImage);
      return `liveness: ${faults.active ? 'a fault still in effect, ' : ''}not recovered at the end of the run (${lagging.join('; ')})`;
    });
    await checkLogs();
  } catch (error) {
    const message = error instanceof RunFailure ? error.message : `the simulation itself failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    trace.record(`FAILED: ${message}`);
    for (const line of describeCluster()) trace.record(line);
    return result(false, { step, message, report: failureReport({ seed: options.seed, step, steps: settings.steps, failure: message, trace }) });
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return result(true);

  /** The state the failure left: each node's status and replicas, for the report. */
  function describeCluster(): string[] {
    const current = image();
    const lines = [`controller ${controller.isUp ? 'up' : 'down'}, metadata v${current?.version ?? '?'}`];
    for (const host of hosts.values()) {
      const registration = current?.nodes.get(host.nodeId);
      const replicas = (host.node?.replicas() ?? []).map((r) => `${r.topicId.slice(0, 8)}-${r.partition} e${r.leaderEpoch}${r.isLeader ? ' leader' : ''} hw ${r.highWatermark} leo ${r.logEndOffset}`);
      lines.push(`${host.endpoint} ${host.status} (${registration?.state ?? 'unregistered'}, metadata v${host.node?.metadataVersion ?? '-'}): ${replicas.join('; ')}`);
    }
    return lines;
  }

  function result(ok: boolean, failure?: SimulationResult['failure']): SimulationResult {
    return {
      seed: options.seed,
      ok,
      failure,
      stepsRun: step,
      faults: faults.total + messageFaultCount(network.stats),
      scheduledFaults: faults.total,
      faultsByKind: new Map(faults.counts),
      messageFaults: messageFaultCount(network.stats),
      logReads: { ...logs.stats },
      simulatedMs: clock.nowMs() - simulatedEpochMs,
      network: { ...network.stats },
      acknowledgedAll: clients.stats.acknowledgedAll,
      traceDigest: trace.digest,
    };
  }
}

function clientEndpoints(settings: ClientSettings): string[] {
  return [...Array.from({ length: settings.producers }, (_, i) => `producer-${i}`), ...Array.from({ length: settings.readers }, (_, i) => `reader-${i}`)];
}
