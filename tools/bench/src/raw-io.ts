/**
 * The raw limits the suites compare against: plain `fs` sequential writes and reads through
 * one FileHandle, with nothing of Starlane's in the path.
 */
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { megabytesPerSecond, mebibyte, nowMs, secondsSince, subjectFirst } from './measure';

/**
 * Writes `buffer` `count` times back to back into a new file at `path`, then fdatasyncs it.
 * Returns the bytes written. Opening and closing the file are the caller's to time or not.
 */
export async function rawWrite(path: string, buffer: Buffer, count: number): Promise<{ bytes: number; seconds: number }> {
  const handle = await open(path, 'w');
  try {
    const startMs = nowMs();
    let position = 0;
    for (let i = 0; i < count; i++) {
      let written = 0;
      // A short write is legal: continue where the kernel stopped.
      while (written < buffer.length) {
        const { bytesWritten } = await handle.write(buffer, written, buffer.length - written, position + written);
        written += bytesWritten;
      }
      position += buffer.length;
    }
    await handle.datasync();
    return { bytes: position, seconds: secondsSince(startMs) };
  } finally {
    await handle.close();
  }
}

/**
 * Reads each file in `paths` from start to end in `chunkBytes` reads into one reused buffer.
 * Returns the bytes read and the seconds spent reading (opens and closes included: there are
 * only a few files).
 */
export async function rawRead(paths: readonly string[], chunkBytes: number): Promise<{ bytes: number; seconds: number }> {
  const buffer = Buffer.allocUnsafe(chunkBytes);
  const startMs = nowMs();
  let bytes = 0;
  for (const path of paths) {
    const handle = await open(path, 'r');
    try {
      let position = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, chunkBytes, position);
        if (bytesRead === 0) break;
        position += bytesRead;
      }
      bytes += position;
    } finally {
      await handle.close();
    }
  }
  return { bytes, seconds: secondsSince(startMs) };
}

/** Rounds of a throughput measurement paired with a raw write; odd, so the median is one round's. */
export const pairedRounds = 3;

export interface PairedRun<T> {
  /** Raw write MB/s of each round, in run order. */
  readonly rawMBps: readonly number[];
  /** What `measure` returned in each round, in run order. */
  readonly measured: readonly T[];
}

/**
 * Runs `measure` and a raw write of `rawBytes` (1 MiB writes, one fdatasync) back to back in
 * each of `pairedRounds` rounds, alternating which goes first, so a ratio can be taken per round
 * against the disk as it was at that moment: this machine's write bandwidth swings by several
 * times from one minute to the next, which one raw figure per run would put into the ratio.
 * (A raw write that runs while earlier writes are still being flushed, as right after a produce
 * measurement, ran near 300 MB/s here; one on a clean disk near 1,200. The fdatasync at its end
 * waits for the file system's journal, which waits for those other writes too.)
 *
 * Each round's raw file is kept until all rounds are done, as the logs being measured keep
 * theirs: a file written where a deleted one just was reuses its blocks, which this machine's
 * disk took about three times faster than new space (four 1 GiB writes, each deleting the one
 * before: 547, 1358, 1358, 1268 MB/s; each kept: 1265, 355, 353, 350 MB/s), and the logs
 * never get that.
 */
export async function pairedWithRawWrites<T>(
  scratchDirectory: string,
  rawBytes: number,
  measure: () => Promise<T>,
  progress: (round: number, rawMBps: number, measured: T) => void,
): Promise<PairedRun<T>> {
  const buffer = randomBytes(mebibyte);
  const paths: string[] = [];
  const runRaw = async (round: number): Promise<number> => {
    const path = join(scratchDirectory, `raw-write-${round}.bin`);
    paths.push(path);
    const run = await rawWrite(path, buffer, Math.ceil(rawBytes / mebibyte));
    return megabytesPerSecond(run.bytes, run.seconds);
  };
  const rawMBps: number[] = [];
  const measured: T[] = [];
  try {
    for (let round = 0; round < pairedRounds; round++) {
      if (subjectFirst(round)) {
        measured.push(await measure());
        rawMBps.push(await runRaw(round));
      } else {
        rawMBps.push(await runRaw(round));
        measured.push(await measure());
      }
      progress(round, rawMBps[round] as number, measured[round] as T);
    }
  } finally {
    for (const path of paths) await rm(path, { force: true });
  }
  return { rawMBps, measured };
}
