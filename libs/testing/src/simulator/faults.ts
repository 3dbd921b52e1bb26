/**
 * The fault schedule, drawn from the seed. A fault is something that happens to a healthy
 * cluster in production and that the replica code must survive without losing an
 * acknowledged write, and recover from once it is over:
 *
 * - node-crash: power loss of one node (unsynced writes lost but for a torn tail), restart later;
 * - node-kill: SIGKILL of one node's process (the OS keeps every write it took), restart later;
 * - node-pause: SIGSTOP of one node (a GC pause, a stalled VM), SIGCONT later — often longer
 *   than the session timeout, so the node comes back fenced with stale state;
 * - node-isolated: one node cut off from everyone (controller included), healed later;
 * - node-controller-cut: one node cut off from the controller only (it still serves fetches);
 * - loss-burst: a share of all messages lost for a while (stream breaks, call deadlines);
 * - controller-crash: power loss of the controller, reopened from its store later.
 *
 * At most one node is impaired at a time, and a node stays impaired from the start of its fault
 * (crashed, paused or cut off) until it is back in the ISR of every partition it replicates,
 * not merely until the fault ends: the log acknowledges acks=all once the in-sync replicas
 * have the records, not once they are on disk (as Kafka, which leaves flushing to the OS), so
 * two replicas that lose their page cache before either re-replicated may lose acknowledged
 * writes by design, and a restarted node is not a full replica again until it has caught up
 * and been re-admitted. One impaired node out of three is what replication promises to
 * survive; it is also enough to reach every leadership change.
 */
import type { EndpointId, SimNetwork } from './network';
import type { SimScheduler } from './sim-time';
import type { SimTrace } from './trace';

export type FaultKind = 'node-crash' | 'node-kill' | 'node-pause' | 'node-isolated' | 'node-controller-cut' | 'loss-burst' | 'controller-crash';
export const faultKinds: readonly FaultKind[] = ['node-crash', 'node-kill', 'node-pause', 'node-isolated', 'node-controller-cut', 'loss-burst', 'controller-crash'];

export interface FaultSettings {
  /** Chance that a step starts a fault (when the limits allow one). */
  readonly faultProbabilityPerStep: number;
  /** How long a fault lasts, drawn log-uniformly between the two (both > 0). */
  readonly durationMsMin: number;
  readonly durationMsMax: number;
  /** Nodes impaired at once at most (see the module comment). */
  readonly nodesImpairedMax: number;
  /** Share of messages a loss burst drops, at most. */
  readonly lossProbabilityMax: number;
}

export const faultSettingsDefault: FaultSettings = { faultProbabilityPerStep: 0.05, durationMsMin: 20, durationMsMax: 2500, nodesImpairedMax: 1, lossProbabilityMax: 0.5 };

/** What the injector acts on. */
export interface FaultTargets {
  readonly nodeIds: readonly number[];
  readonly network: SimNetwork;
  endpoints(): EndpointId[];
  nodeEndpoint(nodeId: number): EndpointId;
  crashNode(nodeId: number, tornBytes: (path: string, unsyncedBytes: number) => number): void;
  /** A killed process loses nothing the OS already took: the page cache survives, and so does the boot. */
  killNode(nodeId: number): void;
  startNode(nodeId: number): void;
  pauseNode(nodeId: number): void;
  resumeNode(nodeId: number): void;
  crashController(tornBytes: (path: string, unsyncedBytes: number) => number): void;
  startController(): void;
  /** Whether the node is back in the ISR of every partition it replicates (its fault is over for good). */
  recovered(nodeId: number): boolean;
}

export class FaultInjector {
  private readonly impaired = new Set<number>();
  /** Nodes whose fault ended but that are not back in every ISR yet: still impaired. */
  private readonly recovering = new Set<number>();
  private controllerDown = false;
  private networkFaults = 0;
  private lossActive = false;
  readonly counts = new Map<FaultKind, number>(faultKinds.map((kind) => [kind, 0]));

  constructor(
    private readonly scheduler: SimScheduler,
    private readonly random: () => number,
    private readonly targets: FaultTargets,
    private readonly trace: SimTrace,
    private readonly settings: FaultSettings = faultSettingsDefault,
  ) {}

  /** Faults injected so far. */
  get total(): number {
    let sum = 0;
    for (const count of this.counts.values()) sum += count;
    return sum;
  }

  /** Whether any fault is still in effect (a node that is only catching up is not one: that is recovery). */
  get active(): boolean {
    return this.impaired.size > this.recovering.size || this.controllerDown || this.networkFaults > 0 || this.lossActive;
  }

  /** A seeded torn tail: half the files keep nothing unsynced, the others a random prefix of it. */
  tornBytes = (_path: string, unsyncedBytes: number): number => (this.random() < 0.5 ? 0 : Math.floor(this.random() * (unsyncedBytes + 1)));

  /** Maybe starts one fault (drawn from the seed); its end is scheduled at once. */
  maybeInject(): void {
    for (const nodeId of [...this.recovering]) {
      if (!this.targets.recovered(nodeId)) continue;
      this.recovering.delete(nodeId);
      this.impaired.delete(nodeId);
    }
    if (this.random() >= this.settings.faultProbabilityPerStep) return;
    const kind = faultKinds[Math.floor(this.random() * faultKinds.length)] ?? 'loss-burst';
    // Log-uniform: most faults are short (many of them per run), some outlast the session timeout.
    const { durationMsMin, durationMsMax } = this.settings;
    const durationMs = Math.round(durationMsMin * (durationMsMax / durationMsMin) ** this.random());
    if (kind === 'loss-burst') return this.lossBurst(durationMs);
    if (kind === 'controller-crash') return this.controllerCrash(durationMs);
    if (this.impaired.size >= this.settings.nodesImpairedMax) return;
    const candidates = this.targets.nodeIds.filter((id) => !this.impaired.has(id));
    const nodeId = candidates[Math.floor(this.random() * candidates.length)];
    if (nodeId === undefined) return;
    this.impaired.add(nodeId);
    this.count(kind, `${kind} node ${nodeId} for ${durationMs} ms`);
    const end = (action: () => void): void => {
      this.scheduler.schedule(durationMs, () => {
        action();
        this.recovering.add(nodeId);
      });
    };
    switch (kind) {
      case 'node-crash':
        this.targets.crashNode(nodeId, this.tornBytes);
        return end(() => this.targets.startNode(nodeId));
      case 'node-kill':
        this.targets.killNode(nodeId);
        return end(() => this.targets.startNode(nodeId));
      case 'node-pause':
        this.targets.pauseNode(nodeId);
        return end(() => this.targets.resumeNode(nodeId));
      case 'node-isolated':
      case 'node-controller-cut': {
        const self = this.targets.nodeEndpoint(nodeId);
        const others = kind === 'node-isolated' ? this.targets.endpoints() : ['controller'];
        this.networkFaults += 1;
        this.targets.network.partition([self], others);
        return end(() => {
          this.networkFaults -= 1;
          if (this.networkFaults === 0 && !this.lossActive) this.targets.network.heal();
        });
      }
    }
  }

  private lossBurst(durationMs: number): void {
    if (this.lossActive) return;
    this.lossActive = true;
    const probability = this.random() * this.settings.lossProbabilityMax;
    this.count('loss-burst', `loss-burst for ${durationMs} ms`);
    this.targets.network.lossBurst(probability, durationMs);
    this.scheduler.schedule(durationMs, () => {
      this.lossActive = false;
      if (this.networkFaults === 0) this.targets.network.heal();
    });
  }

  private controllerCrash(durationMs: number): void {
    if (this.controllerDown) return;
    this.controllerDown = true;
    this.count('controller-crash', `controller-crash for ${durationMs} ms`);
    this.targets.crashController(this.tornBytes);
    this.scheduler.schedule(durationMs, () => {
      this.controllerDown = false;
      this.targets.startController();
    });
  }

  private count(kind: FaultKind, description: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.trace.record(`fault ${description}`);
  }
}
