/**
 * Transfer progress: counts, rates over a recent window, and the text of the progress line and
 * the final summary. The maths takes the time as an argument, so it is tested with a fake clock;
 * `startProgressLine` is the only part that draws on a terminal.
 */
import type { CliIo } from './io';

/** Rates are measured over roughly this much recent time, so they follow changes in speed. */
export const rateWindowMs = 5_000;
/** A sample is kept at most this often. */
export const sampleIntervalMs = 250;
/** Samples kept: enough to cover the rate window at the sample interval. */
export const samplesMax = Math.ceil(rateWindowMs / sampleIntervalMs) + 1;
/** The progress line appears only once a transfer has lasted this long (short runs stay quiet). */
export const progressDelayMs = 1_000;
/** How often the progress line is redrawn. */
export const redrawIntervalMs = 250;

interface Sample {
  readonly atMs: number;
  readonly records: number;
  readonly bytes: number;
}

export interface ProgressSnapshot {
  readonly records: number;
  readonly bytes: number;
  readonly elapsedMs: number;
  /** Over the recent window (the whole run while it is shorter). */
  readonly recordsPerSecond: number;
  readonly bytesPerSecond: number;
}

export class ProgressMeter {
  private records = 0;
  private bytes = 0;
  /** Oldest first; bounded by samplesMax. */
  private readonly samples: Sample[] = [];

  constructor(readonly startMs: number) {
    this.samples.push({ atMs: startMs, records: 0, bytes: 0 });
  }

  add(records: number, bytes: number, nowMs: number): void {
    this.records += records;
    this.bytes += bytes;
    const last = this.samples[this.samples.length - 1]!;
    if (nowMs - last.atMs >= sampleIntervalMs) {
      this.samples.push({ atMs: nowMs, records: this.records, bytes: this.bytes });
      if (this.samples.length > samplesMax) this.samples.shift();
    }
  }

  snapshot(nowMs: number): ProgressSnapshot {
    // The newest sample at least a window old, else the oldest kept: the window's start.
    let base = this.samples[0]!;
    for (const sample of this.samples) {
      if (nowMs - sample.atMs >= rateWindowMs) base = sample;
      else break;
    }
    const spanSeconds = (nowMs - base.atMs) / 1000;
    const rate = (delta: number): number => (spanSeconds > 0 ? delta / spanSeconds : 0);
    return {
      records: this.records,
      bytes: this.bytes,
      elapsedMs: nowMs - this.startMs,
      recordsPerSecond: rate(this.records - base.records),
      bytesPerSecond: rate(this.bytes - base.bytes),
    };
  }

  /** Averages over the whole run, for the summary. */
  totals(nowMs: number): ProgressSnapshot {
    const seconds = (nowMs - this.startMs) / 1000;
    return {
      records: this.records,
      bytes: this.bytes,
      elapsedMs: nowMs - this.startMs,
      recordsPerSecond: seconds > 0 ? this.records / seconds : 0,
      bytesPerSecond: seconds > 0 ? this.bytes / seconds : 0,
    };
  }
}

/** 1234567 → `1,234,567`. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Decimal units, as network and disk rates are quoted: `999 B`, `1.5 kB`, `12.3 MB`, `1.02 GB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** The live line: `12,345 records  1.23 MB  4,567 records/s  0.45 MB/s  3.1 s`. */
export function formatProgress(snapshot: ProgressSnapshot): string {
  return [
    `${formatCount(snapshot.records)} records`,
    formatBytes(snapshot.bytes),
    `${formatCount(snapshot.recordsPerSecond)} records/s`,
    `${formatBytes(snapshot.bytesPerSecond)}/s`,
    formatSeconds(snapshot.elapsedMs),
  ].join('  ');
}

/**
 * The closing line: `produced 1,000 records (12.3 kB) to t in 0.52 s (1,923 records/s, 23.7 kB/s)`,
 * with `where` after the sizes and `note` (e.g. `, interrupted`) at the end.
 */
export function formatSummary(verb: string, snapshot: ProgressSnapshot, where = '', note = ''): string {
  const rates = snapshot.elapsedMs > 0 && snapshot.records > 0 ? ` (${formatCount(snapshot.recordsPerSecond)} records/s, ${formatBytes(snapshot.bytesPerSecond)}/s)` : '';
  const noun = snapshot.records === 1 ? 'record' : 'records';
  return `${verb} ${formatCount(snapshot.records)} ${noun} (${formatBytes(snapshot.bytes)})${where} in ${formatSeconds(snapshot.elapsedMs)}${rates}${note}`;
}

const clearLine = '\r\x1b[2K';

/**
 * Draws the progress line on stderr while a transfer runs, when stderr is a terminal and the
 * command is not quiet; otherwise does nothing. Returns a function that erases the line and stops.
 */
export function startProgressLine(io: CliIo, meter: ProgressMeter, enabled: boolean): () => void {
  if (!enabled || !io.stderrIsTty) return () => undefined;
  let drawn = false;
  const timer = setInterval(() => {
    const now = io.now();
    if (now - meter.startMs < progressDelayMs) return;
    io.stderr.write(`${clearLine}${formatProgress(meter.snapshot(now))}`);
    drawn = true;
  }, redrawIntervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (drawn) io.stderr.write(clearLine);
  };
}
