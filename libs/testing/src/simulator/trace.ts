/**
 * The simulation's trace: a bounded ring of the last events (time, step, what happened), so a
 * failing seed prints what led up to the failure without keeping a long run's history in
 * memory, and a running digest of every event so two runs of one seed can be compared whole.
 */
import type { Clock } from '@starlane/io-ports';
import { simulatedEpochMs } from './sim-time';

/** Events the ring keeps; a failure report prints them all. */
export const traceEventsMax = 400;

export interface TraceEvent {
  /** Simulated milliseconds since the start of the run. */
  readonly atMs: number;
  readonly step: number;
  readonly event: string;
}

/** FNV-1a over the event text: cheap, and enough to tell two traces apart. */
function fnv1a(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class SimTrace {
  private readonly ring: TraceEvent[] = [];
  private next = 0;
  private total = 0;
  private hash = 0x811c9dc5;
  /** The step the simulation is in; set by the runner. */
  step = 0;

  constructor(
    private readonly clock: Clock,
    private readonly capacity = traceEventsMax,
  ) {}

  record(event: string): void {
    const entry = { atMs: this.clock.nowMs() - simulatedEpochMs, step: this.step, event };
    this.hash = fnv1a(this.hash, `${entry.atMs}|${entry.step}|${event}\n`);
    this.total += 1;
    if (this.ring.length < this.capacity) this.ring.push(entry);
    else this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Events recorded since the start (the ring keeps only the last `capacity`). */
  get eventCount(): number {
    return this.total;
  }

  /** A digest of every event recorded: equal digests mean (almost surely) equal traces. */
  get digest(): string {
    return `${this.total}:${this.hash.toString(16).padStart(8, '0')}`;
  }

  /** The kept events, oldest first. */
  events(): TraceEvent[] {
    if (this.ring.length < this.capacity) return [...this.ring];
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }

  format(): string {
    const dropped = this.total - this.ring.length;
    const lines = this.events().map((e) => `${String(e.atMs).padStart(9)} ms  step ${String(e.step).padStart(5)}  ${e.event}`);
    return [dropped > 0 ? `  (${dropped} earlier events not kept)` : '', ...lines.map((l) => `  ${l}`)].filter((l) => l !== '').join('\n');
  }
}

/** What a failing seed prints: enough to replay it (`npm run simulate -- --seed S --steps K`) and read why. */
export function failureReport(input: { seed: number; step: number; steps: number; failure: string; trace: SimTrace }): string {
  return [
    `seed ${input.seed} failed at step ${input.step}: ${input.failure}`,
    `replay: npm run simulate -- --seed ${input.seed} --steps ${input.steps}`,
    `last ${input.trace.events().length} of ${input.trace.eventCount} events:`,
    input.trace.format(),
  ].join('\n');
}
