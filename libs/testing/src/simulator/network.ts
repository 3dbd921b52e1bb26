/**
 * The simulated network between the hosts of a cluster (nodes, the controller, clients), with
 * the failure modes of gRPC over HTTP/2 and nothing it cannot do:
 *
 * - Unary calls (request, answer). A lost request or answer is silent: the caller's call fails
 *   at its deadline (REQUEST_TIMED_OUT, gRPC DEADLINE_EXCEEDED), as a gRPC deadline does. A call to a host that is down
 *   fails fast (BROKER_NOT_AVAILABLE, gRPC UNAVAILABLE: connection refused). Duplicates happen where they really do: a
 *   caller whose answer was lost retries, and the server runs the request twice — the network
 *   itself never repeats a message.
 * - Streams (ordered request/answer pairs on one HTTP/2 stream). Messages of one stream arrive
 *   in order, never reordered and never silently lost: a lost message, a cut link or a host
 *   that died breaks the stream, and the caller learns it a little later (keepalive).
 * - Delays are drawn from the seed per message, so messages of different connections reorder.
 * - Partitions cut pairs of hosts until healed; loss bursts drop a share of all messages for a
 *   while.
 *
 * Every delivery runs on the receiving host's timers (HostScheduler): a paused (SIGSTOPped)
 * host handles nothing until it resumes, and a dead host's incarnation never receives again.
 */
import { StarlaneError } from '@starlane/model';
import type { HostScheduler, SimClock } from './sim-time';
import type { SimTrace } from './trace';

export type EndpointId = string;

export interface NetworkSettings {
  /** One-way delay of a message, drawn uniformly per message. */
  readonly delayMsMin: number;
  readonly delayMsMax: number;
  /** How long after a stream breaks its caller notices (HTTP/2 keepalive, TCP RST), at most. */
  readonly breakNoticeMsMax: number;
}

export const networkSettingsDefault: NetworkSettings = { delayMsMin: 1, delayMsMax: 12, breakNoticeMsMax: 200 };

export interface NetworkStats {
  sent: number;
  delivered: number;
  /** Messages lost, whatever the cause (`lostInBursts` + `lostToCuts`). */
  dropped: number;
  /** Lost to a loss burst's draw: the network's own message faults. */
  lostInBursts: number;
  /** Lost to a partition or a host that was down: what a scheduled fault did to the messages on its path. */
  lostToCuts: number;
  unaryTimeouts: number;
  streamBreaks: number;
  /** Stream breaks that a lost message caused (that message is counted in `dropped` already). */
  streamBreaksByLoss: number;
  /** Requests a server handled whose answer was then lost: the caller's retry makes a duplicate. */
  answersLostAfterHandling: number;
}

/**
 * The message faults the code under test met: each lost request or answer (a deadline to meet,
 * a stream to reopen, a call to retry — a retried call whose first answer was lost runs twice,
 * `answersLostAfterHandling` counts those among the lost answers), and each stream broken
 * without a message lost (its peer died or was cut off). A break that a lost message caused is
 * the same fault as that loss and counts once.
 */
export function messageFaultCount(stats: NetworkStats): number {
  return stats.dropped + stats.streamBreaks - stats.streamBreaksByLoss;
}

/** The server end of a stream, made on the receiving host when the first request arrives (shaped as ReplicaFetchSession). */
export interface StreamServer<Req, Res> {
  fetch(request: Req): Promise<Res>;
  close(): void;
}

export interface SimStream<Req, Res> {
  /** Sends one request; resolves with its answer, rejects (BROKER_NOT_AVAILABLE) once the stream broke. */
  fetch(request: Req): Promise<Res>;
  close(): void;
  readonly broken: boolean;
}

interface OpenStream {
  readonly from: EndpointId;
  readonly to: EndpointId;
  /** `byLoss`: a lost message broke it (that loss is already counted). */
  break(reason: string, byLoss?: boolean): void;
}

function pairKey(a: EndpointId, b: EndpointId): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

export class SimNetwork {
  private readonly hosts = new Map<EndpointId, HostScheduler>();
  private readonly cuts = new Set<string>();
  private readonly streams = new Set<OpenStream>();
  private lossProbability = 0;
  private lossUntilMs = 0;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, lostInBursts: 0, lostToCuts: 0, unaryTimeouts: 0, streamBreaks: 0, streamBreaksByLoss: 0, answersLostAfterHandling: 0 };

  constructor(
    private readonly clock: SimClock,
    private readonly random: () => number,
    private readonly trace: SimTrace,
    private readonly settings: NetworkSettings = networkSettingsDefault,
  ) {}

  /** Binds an endpoint to the timers of its current incarnation (again after every restart). */
  attach(id: EndpointId, host: HostScheduler): void {
    this.hosts.set(id, host);
  }

  /** The endpoint's host went down: streams to and from it break. */
  detach(id: EndpointId): void {
    this.hosts.delete(id);
    for (const stream of [...this.streams]) if (stream.from === id || stream.to === id) stream.break(`${id} is down`);
  }

  isUp(id: EndpointId): boolean {
    const host = this.hosts.get(id);
    return host !== undefined && !host.isDead;
  }

  canReach(a: EndpointId, b: EndpointId): boolean {
    return !this.cuts.has(pairKey(a, b));
  }

  /** Cuts every link between `side` and every other endpoint in `others`. */
  partition(side: readonly EndpointId[], others: readonly EndpointId[]): void {
    for (const a of side) for (const b of others) if (!side.includes(b)) this.cuts.add(pairKey(a, b));
    for (const stream of [...this.streams]) if (!this.canReach(stream.from, stream.to)) stream.break('partitioned');
    this.trace.record(`net partition [${side.join(',')}] from [${others.filter((b) => !side.includes(b)).join(',')}]`);
  }

  heal(): void {
    if (this.cuts.size === 0 && this.lossUntilMs <= this.clock.nowMs()) return;
    this.cuts.clear();
    this.lossUntilMs = 0;
    this.trace.record('net healed');
  }

  get partitioned(): boolean {
    return this.cuts.size > 0;
  }

  /** Drops each message with `probability` until `durationMs` from now. */
  lossBurst(probability: number, durationMs: number): void {
    this.lossProbability = probability;
    this.lossUntilMs = this.clock.nowMs() + durationMs;
    this.trace.record(`net loss burst p=${probability.toFixed(2)} for ${durationMs} ms`);
  }

  /** Whether every fault of the network is over. */
  get healthy(): boolean {
    return this.cuts.size === 0 && this.lossUntilMs <= this.clock.nowMs();
  }

  private delayMs(): number {
    const { delayMsMin, delayMsMax } = this.settings;
    return delayMsMin + Math.floor(this.random() * (delayMsMax - delayMsMin + 1));
  }

  /** Why a message from `from` to `to` is lost now, if it is. */
  private lossCause(from: EndpointId, to: EndpointId): 'cut' | 'burst' | undefined {
    if (!this.canReach(from, to)) return 'cut';
    return this.lossUntilMs > this.clock.nowMs() && this.random() < this.lossProbability ? 'burst' : undefined;
  }

  private drop(cause: 'cut' | 'burst'): void {
    this.stats.dropped += 1;
    if (cause === 'burst') this.stats.lostInBursts += 1;
    else this.stats.lostToCuts += 1;
  }

  /**
   * Carries one message: after a drawn delay (or at `notBeforeMs`), runs `deliver` on the
   * receiver's timers, or `onLost` (on nobody's timers: loss is silent) if it never arrives.
   * Returns the delivery time.
   */
  private carry(from: EndpointId, to: EndpointId, deliver: () => void, onLost: () => void, notBeforeMs = 0): number {
    this.stats.sent += 1;
    const receiver = this.hosts.get(to);
    const atMs = Math.max(this.clock.nowMs() + this.delayMs(), notBeforeMs);
    const cause = receiver === undefined || receiver.isDead ? 'cut' : this.lossCause(from, to);
    if (receiver === undefined || cause !== undefined) {
      this.drop(cause ?? 'cut');
      onLost();
      return atMs;
    }
    receiver.schedule(atMs - this.clock.nowMs(), () => {
      // A cut made while the message was on the wire loses it too.
      if (!this.canReach(from, to)) {
        this.drop('cut');
        onLost();
        return;
      }
      this.stats.delivered += 1;
      deliver();
    });
    return atMs;
  }

  /**
   * A unary call from `from` to `to`: `handler` runs on the receiver when the request arrives;
   * its answer (or rejection) travels back. Settles on the caller's timers.
   */
  unary<T>(from: EndpointId, to: EndpointId, label: string, handler: () => Promise<T>, deadlineMs: number): Promise<T> {
    const caller = this.hosts.get(from);
    if (caller === undefined || caller.isDead) return new Promise<T>(() => undefined);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settleWith = (action: () => void): void => {
        if (settled) return;
        settled = true;
        cancelDeadline();
        action();
      };
      const cancelDeadline = caller.schedule(deadlineMs, () => {
        if (settled) return;
        this.stats.unaryTimeouts += 1;
        settled = true;
        reject(new StarlaneError('REQUEST_TIMED_OUT', `${label} from ${from} to ${to}: no answer within ${deadlineMs} ms`));
      });
      if (!this.isUp(to)) {
        caller.schedule(this.delayMs(), () => settleWith(() => reject(new StarlaneError('BROKER_NOT_AVAILABLE', `${label}: ${to} refused the connection`))));
        return;
      }
      this.carry(
        from,
        to,
        () => {
          // Only the incarnation that took the request may answer it: a process that died sends nothing.
          const server = this.hosts.get(to);
          void handler().then(
            (value) => this.answer(server, to, from, () => settleWith(() => resolve(value))),
            (error: unknown) => this.answer(server, to, from, () => settleWith(() => reject(error))),
          );
        },
        () => undefined,
      );
    });
  }

  private answer(host: HostScheduler | undefined, server: EndpointId, caller: EndpointId, deliver: () => void): void {
    if (host === undefined || host.isDead) return;
    this.carry(server, caller, deliver, () => {
      this.stats.answersLostAfterHandling += 1;
    });
  }

  /**
   * Opens an ordered request/answer stream from `from` to `to`; `accept` makes the server end on
   * the receiver when the first request arrives (undefined: the receiver refuses it).
   */
  openStream<Req, Res>(from: EndpointId, to: EndpointId, label: string, accept: () => StreamServer<Req, Res> | undefined): SimStream<Req, Res> {
    const caller = this.hosts.get(from);
    const pending = new Set<{ reject: (error: Error) => void }>();
    let server: StreamServer<Req, Res> | undefined;
    let serverHost: HostScheduler | undefined;
    let serverTail: Promise<unknown> = Promise.resolve();
    let broken = false;
    // The last delivery time each way: a later message never arrives before an earlier one.
    let lastToServerMs = 0;
    let lastToCallerMs = 0;

    const handle: OpenStream = {
      from,
      to,
      break: (reason: string, byLoss = false): void => {
        if (broken) return;
        broken = true;
        this.streams.delete(handle);
        this.stats.streamBreaks += 1;
        if (byLoss) this.stats.streamBreaksByLoss += 1;
        this.trace.record(`stream ${label} ${from}->${to} broke: ${reason}`);
        server?.close();
        server = undefined;
        const waiting = [...pending];
        pending.clear();
        if (waiting.length === 0 || caller === undefined) return;
        const noticeMs = 1 + Math.floor(this.random() * this.settings.breakNoticeMsMax);
        caller.schedule(noticeMs, () => {
          for (const call of waiting) call.reject(new StarlaneError('BROKER_NOT_AVAILABLE', `stream ${label} to ${to} broke: ${reason}`));
        });
      },
    };
    this.streams.add(handle);

    const fetch = (request: Req): Promise<Res> =>
      new Promise<Res>((resolve, reject) => {
        if (broken || caller === undefined || caller.isDead) {
          reject(new StarlaneError('BROKER_NOT_AVAILABLE', `stream ${label} to ${to} is broken`));
          return;
        }
        const call = { reject };
        pending.add(call);
        lastToServerMs = this.carry(
          from,
          to,
          () => {
            if (broken) return;
            if (server === undefined) {
              serverHost = this.hosts.get(to);
              server = accept();
            }
            if (server === undefined) {
              handle.break(`${to} refused the stream`);
              return;
            }
            // The server takes one request at a time and answers in order, as a service that
            // reads its request stream in a loop does: answer n always belongs to request n.
            const current = server;
            serverTail = serverTail.then(() => current.fetch(request)).then(
              (answer) => {
                if (broken) return;
                if (serverHost === undefined || serverHost.isDead) return handle.break(`${to} is down`);
                lastToCallerMs = this.carry(
                  to,
                  from,
                  () => {
                    if (broken || !pending.delete(call)) return;
                    resolve(answer);
                  },
                  () => handle.break('answer lost', true),
                  lastToCallerMs,
                );
              },
              (error: unknown) => handle.break(`server failed: ${error instanceof Error ? error.message : String(error)}`),
            );
          },
          () => handle.break('request lost', true),
          lastToServerMs,
        );
      });

    return {
      fetch,
      close: () => {
        if (broken) return;
        broken = true;
        this.streams.delete(handle);
        const closing = server;
        server = undefined;
        if (closing !== undefined) this.hosts.get(to)?.schedule(this.delayMs(), () => closing.close());
        for (const call of pending) call.reject(new StarlaneError('BROKER_NOT_AVAILABLE', `stream ${label} to ${to} closed`));
        pending.clear();
      },
      get broken() {
        return broken;
      },
    };
  }
}
