/**
 * The `log` suite: the partition log (libs/log on libs/node-io) against the raw limits of the
 * same disk, measured by the same process in the same run. Four figures, each a ratio or a
 * time with a goal:
 *
 *   appendRatio          sequential 1 MiB appends, flush never   / plain fs writes of the same bytes
 *   groupCommitSpeedup   appends/s, fsync per append, 64 writers  / the same with one writer
 *   readRatio            log.read from offset 0 after a restart   / plain fs reads of its segment files
 *   recoverySeconds1GiB  PartitionLog.open of a 1 GiB log whose writer was SIGKILLed
 *
 * Disk throughput on a shared machine can change twofold within a minute, so each
 * throughput pair runs in several rounds, log and raw back to back in alternating order, and the
 * figure is the median of the per-round ratios.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type OpenReport, type PartitionLog } from '@starlane/log';
import { assert } from '@starlane/model';
import { RunError } from './errors';
import {
  appendSequentially,
  batchesFor,
  benchLeaderEpoch,
  benchLogConfig,
  buildLargeBatch,
  buildRandomBatch,
  largeBatchRecords,
  largeBatchValueBytes,
  openLog,
  writeLogCommandName,
  writeLogDoneLine,
} from './log-workload';
import { formatMebibytes, gibibyte, kibibyte, listRounds, median, megabytesPerSecond, mebibyte, nowMs, secondsSince, subjectFirst, timed } from './measure';
import { rawRead, rawWrite } from './raw-io';
import { type Figure, type Suite, type SuiteContext, type SuiteResult } from './suite';

// Sizes and durations at scale 1; STARLANE_BENCH_SCALE shrinks them for a smoke run.
/** Bytes each throughput run writes or reads, and the size of the log recovery opens. */
const logBytesFull = gibibyte;
/** Segment size of every log here, so a 1 GiB log has several segments (Kafka's default is 1 GiB). */
const segmentBytesFull = 256 * mebibyte;
/** Smallest segment a scaled-down run uses: a few large batches each. */
const segmentBytesMin = 4 * mebibyte;
/** Size of each raw read, and the log reads' maxBytes. */
const readChunkBytes = mebibyte;
/** Rounds of each interleaved pair; the figures are medians over rounds. */
const appendRounds = 5;
const readRounds = 5;
const groupCommitRounds = 3;
/** Bytes of the unmeasured raw write and log append that run first (JIT, fresh memory, disk state). */
const appendWarmupBytesFull = 256 * mebibyte;
/** How long each group-commit run keeps its writers appending. */
const groupCommitRunMsFull = 3_000;
const groupCommitRunMsMin = 300;
/** Appends one group-commit run makes at most, whatever the machine's speed. */
const groupCommitAppendsMax = 2_000_000;
const groupCommitWriters = 64;
/** Value bytes of the one record in each group-commit batch. */
const smallBatchValueBytes = kibibyte;
/** How long the recovery child may take to write its log. */
const childWriteTimeoutMs = 5 * 60_000;
/** Bytes of child stdout kept while waiting for its `done` line. */
const childOutputBytesMax = 4 * kibibyte;

const goals = {
  appendRatio: { comparison: 'atLeast', value: 0.7 },
  groupCommitSpeedup: { comparison: 'atLeast', value: 10 },
  readRatio: { comparison: 'atLeast', value: 0.6 },
  recoverySeconds1GiB: { comparison: 'atMost', value: 10 },
} as const;

interface Sizes {
  readonly logBytes: number;
  readonly appendWarmupBytes: number;
  readonly segmentBytes: number;
  readonly groupCommitRunMs: number;
}

function sizesFor(scale: number): Sizes {
  return {
    logBytes: Math.max(readChunkBytes, Math.round(logBytesFull * scale)),
    appendWarmupBytes: Math.max(readChunkBytes, Math.round(appendWarmupBytesFull * scale)),
    segmentBytes: Math.max(segmentBytesMin, Math.round(segmentBytesFull * scale)),
    groupCommitRunMs: Math.max(groupCommitRunMsMin, Math.round(groupCommitRunMsFull * scale)),
  };
}

function fixed(value: number, digits: number): string {
  return value.toFixed(digits);
}

// -----------------------------------------------------------------------------------------
// 1. Sequential appends, flush never, against plain fs writes

interface AppendFigures {
  readonly appendMBps: number;
  readonly rawWriteMBps: number;
  readonly appendRatio: number;
  readonly ratios: readonly number[];
  /** The last round's log, closed cleanly, left on disk for the read measurement. */
  readonly keptLogDirectory: string;
}

async function appendOnce(directory: string, batch: Buffer, count: number, segmentBytes: number): Promise<{ bytes: number; seconds: number }> {
  const { log } = await openLog(directory, benchLogConfig({ segmentBytes, flushMessages: -1 }));
  try {
    const { seconds } = await timed(async () => {
      await appendSequentially(log, batch, count);
      // The raw side ends with an fdatasync, so the log's figure includes making its bytes durable too.
      await log.flush();
    });
    return { bytes: log.sizeBytes, seconds };
  } finally {
    await log.close();
  }
}

async function measureAppend(context: SuiteContext, sizes: Sizes, batch: Buffer): Promise<AppendFigures> {
  const count = batchesFor(sizes.logBytes, batch.length);
  const warmupCount = batchesFor(sizes.appendWarmupBytes, batch.length);
  const warmupPath = join(context.scratchDirectory, 'warmup.bin');
  const warmupDirectory = join(context.scratchDirectory, 'warmup');
  await rawWrite(warmupPath, batch, warmupCount);
  await rm(warmupPath, { force: true });
  await appendOnce(warmupDirectory, batch, warmupCount, sizes.segmentBytes);
  await rm(warmupDirectory, { recursive: true, force: true });
  context.progress(`append warm-up: ${formatMebibytes(sizes.appendWarmupBytes)} raw and appended, not measured`);
  const appendRates: number[] = [];
  const rawRates: number[] = [];
  const ratios: number[] = [];
  let keptLogDirectory = '';
  for (let round = 0; round < appendRounds; round++) {
    const directory = join(context.scratchDirectory, `append-${round}`);
    const rawPath = join(context.scratchDirectory, 'raw-write.bin');
    const runLog = (): Promise<{ bytes: number; seconds: number }> => appendOnce(directory, batch, count, sizes.segmentBytes);
    const runRaw = async (): Promise<{ bytes: number; seconds: number }> => {
      const result = await rawWrite(rawPath, batch, count);
      await rm(rawPath, { force: true });
      return result;
    };
    const first = subjectFirst(round) ? await runLog() : await runRaw();
    const second = subjectFirst(round) ? await runRaw() : await runLog();
    const [logRun, rawRun] = subjectFirst(round) ? [first, second] : [second, first];
    const appendRate = megabytesPerSecond(logRun.bytes, logRun.seconds);
    const rawRate = megabytesPerSecond(rawRun.bytes, rawRun.seconds);
    appendRates.push(appendRate);
    rawRates.push(rawRate);
    ratios.push(appendRate / rawRate);
    context.progress(
      `append round ${round + 1}/${appendRounds}: log ${fixed(appendRate, 0)} MB/s, raw write ${fixed(rawRate, 0)} MB/s, ratio ${fixed(appendRate / rawRate, 2)} (${formatMebibytes(logRun.bytes)} each)`,
    );
    if (round < appendRounds - 1) await rm(directory, { recursive: true, force: true });
    else keptLogDirectory = directory;
  }
  return { appendMBps: median(appendRates), rawWriteMBps: median(rawRates), appendRatio: median(ratios), ratios, keptLogDirectory };
}

// -----------------------------------------------------------------------------------------
// 2. Group commit: fsync per append, 64 writers against one

async function appendersFor(log: PartitionLog, batches: readonly Buffer[], runMs: number): Promise<{ appends: number; seconds: number }> {
  let appends = 0;
  const startMs = nowMs();
  const deadlineMs = startMs + runMs;
  // Each writer has its own buffer (append rewrites the base offset in place) and one append in flight.
  const writer = async (batch: Buffer): Promise<void> => {
    while (nowMs() < deadlineMs && appends < groupCommitAppendsMax) {
      await log.append(batch, benchLeaderEpoch);
      appends++;
    }
  };
  await Promise.all(batches.map(writer));
  return { appends, seconds: secondsSince(startMs) };
}

async function groupCommitRun(directory: string, writers: number, template: Buffer, sizes: Sizes): Promise<number> {
  const batches = Array.from({ length: writers }, () => Buffer.from(template));
  const { log } = await openLog(directory, benchLogConfig({ segmentBytes: sizes.segmentBytes, flushMessages: 1 }));
  try {
    const { appends, seconds } = await appendersFor(log, batches, sizes.groupCommitRunMs);
    return appends / seconds;
  } finally {
    await log.close();
    await rm(directory, { recursive: true, force: true });
  }
}

async function measureGroupCommit(
  context: SuiteContext,
  sizes: Sizes,
): Promise<{ oneWriter: number; manyWriters: number; speedup: number; speedups: readonly number[] }> {
  const template = await buildRandomBatch(1, smallBatchValueBytes);
  const oneRates: number[] = [];
  const manyRates: number[] = [];
  const speedups: number[] = [];
  for (let round = 0; round < groupCommitRounds; round++) {
    const runOne = (): Promise<number> => groupCommitRun(join(context.scratchDirectory, `group-commit-1-${round}`), 1, template, sizes);
    const runMany = (): Promise<number> => groupCommitRun(join(context.scratchDirectory, `group-commit-${groupCommitWriters}-${round}`), groupCommitWriters, template, sizes);
    const first = subjectFirst(round) ? await runMany() : await runOne();
    const second = subjectFirst(round) ? await runOne() : await runMany();
    const [many, one] = subjectFirst(round) ? [first, second] : [second, first];
    oneRates.push(one);
    manyRates.push(many);
    speedups.push(many / one);
    context.progress(
      `group commit round ${round + 1}/${groupCommitRounds}: 1 writer ${fixed(one, 0)} appends/s, ${groupCommitWriters} writers ${fixed(many, 0)} appends/s, speedup ${fixed(many / one, 1)}`,
    );
  }
  return { oneWriter: median(oneRates), manyWriters: median(manyRates), speedup: median(speedups), speedups };
}

// -----------------------------------------------------------------------------------------
// 3. Reading a log after a restart, against plain fs reads of its segment files

async function readWholeLog(log: PartitionLog, readsMax: number): Promise<{ bytes: number; seconds: number }> {
  const endOffset = log.logEndOffset;
  let offset = log.logStartOffset;
  let bytes = 0;
  let reads = 0;
  // One reused buffer, as the raw side uses one; room for a batch slightly over maxBytes.
  const buffer = Buffer.allocUnsafe(2 * readChunkBytes);
  const startMs = nowMs();
  while (offset < endOffset) {
    assert(reads++ < readsMax, `reading the log took more than ${readsMax} reads`);
    const result = await log.read(offset, { maxBytes: readChunkBytes, buffer });
    assert(result.nextOffset > offset, `log.read at offset ${offset} made no progress`);
    bytes += result.records.length;
    offset = result.nextOffset;
  }
  return { bytes, seconds: secondsSince(startMs) };
}

async function measureRead(
  context: SuiteContext,
  directory: string,
  sizes: Sizes,
): Promise<{ readMBps: number; rawReadMBps: number; readRatio: number; ratios: readonly number[]; segments: number }> {
  const { log, report } = await openLog(directory, benchLogConfig({ segmentBytes: sizes.segmentBytes, flushMessages: -1 }));
  try {
    assert(report.cleanShutdown, 'the appended log reopens cleanly');
    const files = (await readdir(directory)).filter((name) => name.endsWith('.log')).sort().map((name) => join(directory, name));
    // The page cache cannot be dropped without root: read everything once so both sides find it warm.
    const warm = await rawRead(files, readChunkBytes);
    context.progress(`read: reopened ${log.segmentCount} segments (${formatMebibytes(warm.bytes)}), warmed the page cache in ${fixed(warm.seconds, 2)} s`);
    const readsMax = 2 * Math.ceil(warm.bytes / readChunkBytes) + files.length;
    const logRates: number[] = [];
    const rawRates: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < readRounds; round++) {
      const first = subjectFirst(round) ? await readWholeLog(log, readsMax) : await rawRead(files, readChunkBytes);
      const second = subjectFirst(round) ? await rawRead(files, readChunkBytes) : await readWholeLog(log, readsMax);
      const [logRun, rawRun] = subjectFirst(round) ? [first, second] : [second, first];
      assert(logRun.bytes === rawRun.bytes, `the log read ${logRun.bytes} bytes, its files hold ${rawRun.bytes}`);
      const logRate = megabytesPerSecond(logRun.bytes, logRun.seconds);
      const rawRate = megabytesPerSecond(rawRun.bytes, rawRun.seconds);
      logRates.push(logRate);
      rawRates.push(rawRate);
      ratios.push(logRate / rawRate);
      context.progress(`read round ${round + 1}/${readRounds}: log ${fixed(logRate, 0)} MB/s, raw read ${fixed(rawRate, 0)} MB/s, ratio ${fixed(logRate / rawRate, 2)}`);
    }
    return { readMBps: median(logRates), rawReadMBps: median(rawRates), readRatio: median(ratios), ratios, segments: log.segmentCount };
  } finally {
    await log.close();
    await rm(directory, { recursive: true, force: true });
  }
}

// -----------------------------------------------------------------------------------------
// 4. Recovery after SIGKILL

/** Resolves once the child prints `line` on stdout; rejects if it exits or times out first. */
function waitForLine(child: ReturnType<typeof spawn>, line: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let output = '';
    const finish = (error: RunError | null): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (error === null) resolve();
      else reject(error);
    };
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-childOutputBytesMax);
      if (output.split('\n').includes(line)) finish(null);
    };
    const onExit = (code: number | null, signal: string | null): void => finish(new RunError(`the log writer exited (code ${code}, signal ${signal}) before printing "${line}"`));
    const timer = setTimeout(() => finish(new RunError(`the log writer did not print "${line}" within ${timeoutMs} ms`)), timeoutMs);
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
  });
}

async function measureRecovery(
  context: SuiteContext,
  sizes: Sizes,
  batchBytes: number,
): Promise<{ seconds: number; secondsPerGiB: number; bytes: number; report: OpenReport }> {
  const directory = join(context.scratchDirectory, 'recovery');
  const expectedEndOffset = BigInt(batchesFor(sizes.logBytes, batchBytes) * largeBatchRecords);
  const child = spawn(process.execPath, [context.programPath, writeLogCommandName, directory, String(sizes.logBytes), String(sizes.segmentBytes)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  try {
    const { seconds: writeSeconds } = await timed(() => waitForLine(child, writeLogDoneLine, childWriteTimeoutMs));
    context.progress(`recovery: a child process wrote ${formatMebibytes(sizes.logBytes)} in ${fixed(writeSeconds, 1)} s; killing it with SIGKILL`);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const { result, seconds } = await timed(() => openLog(directory, benchLogConfig({ segmentBytes: sizes.segmentBytes, flushMessages: -1 })));
  const { log, report } = result;
  try {
    assert(!report.cleanShutdown, 'a killed writer leaves no clean-shutdown marker');
    assert(log.logEndOffset === expectedEndOffset, `the recovered log ends at ${log.logEndOffset}, expected ${expectedEndOffset}`);
    const bytes = log.sizeBytes;
    context.progress(
      `recovery: opened ${log.segmentCount} segments (${formatMebibytes(bytes)}) in ${fixed(seconds, 2)} s: ${report.segmentsRecovered} recovered, ${report.bytesTruncated} bytes truncated, ${report.segmentsDeleted} deleted`,
    );
    return { seconds, secondsPerGiB: (seconds * gibibyte) / bytes, bytes, report };
  } finally {
    await log.close();
    await rm(directory, { recursive: true, force: true });
  }
}

// -----------------------------------------------------------------------------------------

async function runLogSuite(context: SuiteContext): Promise<SuiteResult> {
  const sizes = sizesFor(context.scale);
  const batch = await buildLargeBatch();
  context.progress(
    `log bytes ${formatMebibytes(sizes.logBytes)}, segment bytes ${formatMebibytes(sizes.segmentBytes)}, batch ${batch.length} bytes (${largeBatchRecords} records), in ${context.scratchDirectory}`,
  );

  const append = await measureAppend(context, sizes, batch);
  const read = await measureRead(context, append.keptLogDirectory, sizes);
  const groupCommit = await measureGroupCommit(context, sizes);
  const recovery = await measureRecovery(context, sizes, batch.length);

  const figures: Figure[] = [
    { name: 'appendRatio', value: append.appendRatio, digits: 2, description: 'sequential 1 MiB appends, flush never / raw fs write', goal: goals.appendRatio },
    { name: 'groupCommitSpeedup', value: groupCommit.speedup, digits: 1, description: `appends/s, fsync per append: ${groupCommitWriters} writers / 1 writer`, goal: goals.groupCommitSpeedup },
    { name: 'readRatio', value: read.readRatio, digits: 2, description: 'log.read after restart / raw fs read of the segment files', goal: goals.readRatio },
    { name: 'recoverySeconds1GiB', value: recovery.secondsPerGiB, digits: 2, description: 'open after SIGKILL, per GiB of log (s)', goal: goals.recoverySeconds1GiB },
    { name: 'appendMBps', value: append.appendMBps, digits: 0, description: 'log append throughput (MB/s)' },
    { name: 'rawWriteMBps', value: append.rawWriteMBps, digits: 0, description: 'raw fs write throughput (MB/s)' },
    { name: 'readMBps', value: read.readMBps, digits: 0, description: 'log read throughput (MB/s)' },
    { name: 'rawReadMBps', value: read.rawReadMBps, digits: 0, description: 'raw fs read throughput (MB/s)' },
    { name: 'appendsPerSecOneWriter', value: groupCommit.oneWriter, digits: 0, description: 'appends/s, fsync per append, 1 writer' },
    { name: 'appendsPerSec64Writers', value: groupCommit.manyWriters, digits: 0, description: `appends/s, fsync per append, ${groupCommitWriters} writers` },
  ];
  const details = {
    logBytes: sizes.logBytes,
    segmentBytes: sizes.segmentBytes,
    batchBytes: batch.length,
    appendRatioRounds: listRounds(append.ratios, 2),
    readRatioRounds: listRounds(read.ratios, 2),
    groupCommitSpeedupRounds: listRounds(groupCommit.speedups, 1),
    recoverySeconds: Math.round(recovery.seconds * 1000) / 1000,
    recoveredBytes: recovery.bytes,
    recoveryCleanShutdown: recovery.report.cleanShutdown,
    recoverySegmentsRecovered: recovery.report.segmentsRecovered,
    recoveryBytesTruncated: recovery.report.bytesTruncated,
    recoverySegmentsDeleted: recovery.report.segmentsDeleted,
  };
  const method =
    `Each log measurement runs back to back with its raw counterpart, alternating which goes first; MB/s and appends/s are medians over rounds, ` +
    `each ratio is the median of the per-round ratios (listed above in run order), and MB means 10^6 bytes. ` +
    `Appends (${appendRounds} rounds after an unmeasured ${formatMebibytes(sizes.appendWarmupBytes)} warm-up of each): ` +
    `${formatMebibytes(sizes.logBytes)} of ${batch.length}-byte batches (${largeBatchRecords} records of ${largeBatchValueBytes / kibibyte} KiB random bytes) ` +
    `appended one at a time, each awaited, with flush.messages and flush.ms -1 and ${formatMebibytes(sizes.segmentBytes)} segments (${read.segments} of them), ` +
    `against the same buffers written through one FileHandle; both timings end with an fdatasync of everything (log.flush() for the log) and exclude open and close. ` +
    `The log also fsyncs each segment in the background as it rolls, overlapping write-back with writing, ` +
    `which the single final fdatasync of the raw side cannot, so on a disk with bursty write-back this ratio can exceed 1. ` +
    `Group commit (${groupCommitRounds} rounds of ${sizes.groupCommitRunMs} ms per run): flush.messages 1, one-record batches with ${smallBatchValueBytes}-byte values, ` +
    `${groupCommitWriters} writers each awaiting its append before issuing the next, against one writer. ` +
    `Reads (${readRounds} rounds): the appended log is closed and reopened and its segment files are read once to warm the page cache, which cannot be dropped; ` +
    `then log.read from offset 0 with maxBytes ${formatMebibytes(readChunkBytes)} into one reused buffer, following nextOffset, is compared with plain ${formatMebibytes(readChunkBytes)} reads of the same files into one buffer. ` +
    `Both read from the page cache, so this measures the CPU and memory cost of the read path, not the disk. ` +
    `Recovery: a child process appends ${formatMebibytes(sizes.logBytes)} with flush never and is SIGKILLed, then PartitionLog.open is timed; ` +
    `with no clean-shutdown marker it checks every batch's CRC and rebuilds the indexes of every segment from the recovery point, ` +
    `reading from the page cache the child left, and fsyncs what it recovered; the time is scaled to one GiB of log.`;
  return { suite: 'log', figures, details, method };
}

export const logSuite: Suite = {
  name: 'log',
  summary: 'partition log: appends, group commit, reads and crash recovery against raw fs on this machine',
  run: runLogSuite,
};
