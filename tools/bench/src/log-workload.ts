/**
 * The log suite's workload: batches to append, a log opened on disk the way a storage node
 * opens one, and the hidden `__write-log` command a child process runs so the suite can kill it.
 */
import { randomBytes } from 'node:crypto';
import { PartitionLog, defaultLogConfig, type LogConfig, type OpenReport } from '@starlane/log';
import { NodeFileSystem, systemClock, timerScheduler } from '@starlane/node-io';
import { buildBatch } from '@starlane/record-batch';
import { kibibyte, mebibyte } from './measure';
import { UsageError } from './errors';

/** A large batch is 16 records of 64 KiB of random (incompressible) bytes: just over 1 MiB. */
export const largeBatchRecords = 16;
export const largeBatchValueBytes = 64 * kibibyte;
/** max.message.bytes of the suite's logs: a large batch and its framing fit with room to spare. */
export const messageBytesMax = 2 * mebibyte;
/** The leader epoch every append is stamped with. */
export const benchLeaderEpoch = 0;
/** The hidden sub-command the recovery measurement runs in a child process. */
export const writeLogCommandName = '__write-log';
/** What the child prints on stdout once every append has resolved. */
export const writeLogDoneLine = 'done';

/** One RecordBatch v2 of `recordCount` records with `valueBytes` random bytes each. */
export async function buildRandomBatch(recordCount: number, valueBytes: number): Promise<Buffer> {
  const timestamp = BigInt(Date.now());
  const records = Array.from({ length: recordCount }, (_, index) => ({
    key: Buffer.from(`key-${index}`),
    value: randomBytes(valueBytes),
    timestamp,
  }));
  return buildBatch(records);
}

export function buildLargeBatch(): Promise<Buffer> {
  return buildRandomBatch(largeBatchRecords, largeBatchValueBytes);
}

/** Batches of `batchBytes` needed to reach at least `bytes`. */
export function batchesFor(bytes: number, batchBytes: number): number {
  return Math.max(1, Math.ceil(bytes / batchBytes));
}

/** The log config of every log in the suite: Kafka's defaults with the overrides given. */
export function benchLogConfig(overrides: { segmentBytes: number; flushMessages: number }): LogConfig {
  return { ...defaultLogConfig, flushMs: -1, maxMessageBytes: messageBytesMax, ...overrides };
}

export function openLog(directory: string, config: LogConfig): Promise<{ log: PartitionLog; report: OpenReport }> {
  return PartitionLog.open({ directory, fs: new NodeFileSystem(), clock: systemClock, scheduler: timerScheduler, config });
}

/**
 * Appends `batch` `count` times, each append awaited before the next is issued: one producer
 * with one request in flight. Reusing the buffer is safe because appends never overlap.
 */
export async function appendSequentially(log: PartitionLog, batch: Buffer, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await log.append(batch, benchLeaderEpoch);
}

function usageError(message: string): UsageError {
  return new UsageError(`${writeLogCommandName}: ${message}`);
}

function parsePositiveInteger(text: string | undefined, what: string): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) {
    throw usageError(`${what} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/**
 * `__write-log <directory> <bytes> <segmentBytes>`: appends large batches with flush never until
 * at least `bytes` are in the log, prints `done`, and then waits without closing the log (no
 * clean-shutdown marker, no final fsync) until it is killed or its stdin closes, so a crashed
 * parent never leaves it behind.
 */
export async function writeLogCommand(args: readonly string[]): Promise<void> {
  const [directory, bytesText, segmentBytesText, ...rest] = args;
  if (directory === undefined || rest.length > 0) throw usageError('usage: __write-log <directory> <bytes> <segmentBytes>');
  const bytes = parsePositiveInteger(bytesText, 'bytes');
  const segmentBytes = parsePositiveInteger(segmentBytesText, 'segmentBytes');
  const batch = await buildLargeBatch();
  const { log } = await openLog(directory, benchLogConfig({ segmentBytes, flushMessages: -1 }));
  await appendSequentially(log, batch, batchesFor(bytes, batch.length));
  process.stdout.write(`${writeLogDoneLine}\n`);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
