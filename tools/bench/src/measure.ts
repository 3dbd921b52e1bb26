/** Small measuring helpers: a monotonic stopwatch, medians and throughput units. */
import { performance } from 'node:perf_hooks';

export const kibibyte = 1024;
export const mebibyte = 1024 * kibibyte;
export const gibibyte = 1024 * mebibyte;
/** Throughput is reported in MB/s with MB = 10^6 bytes, as disk and network figures usually are. */
export const megabyte = 1_000_000;

/** Seconds since `startMs`, from the monotonic clock. */
export function secondsSince(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}

export function nowMs(): number {
  return performance.now();
}

/** Runs `task` and returns its result with the seconds it took (monotonic clock). */
export async function timed<T>(task: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const startMs = performance.now();
  const result = await task();
  return { result, seconds: secondsSince(startMs) };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('the median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function megabytesPerSecond(bytes: number, seconds: number): number {
  return bytes / megabyte / seconds;
}

export function formatMebibytes(bytes: number): string {
  const mebibytes = bytes / mebibyte;
  return `${Number.isInteger(mebibytes) || mebibytes >= 10 ? mebibytes.toFixed(0) : mebibytes.toFixed(1)} MiB`;
}

/** Whether round `round` runs the measured subject before its raw counterpart. */
export function subjectFirst(round: number): boolean {
  return round % 2 === 1;
}

/** Per-round values in run order, for judging the spread behind a median. */
export function listRounds(values: readonly number[], digits: number): string {
  return values.map((value) => value.toFixed(digits)).join(' ');
}
