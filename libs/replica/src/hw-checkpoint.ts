/**
 * The high-watermark checkpoint: one file in the partitions folder recording each hosted
 * partition's high watermark, as Kafka's `replication-offset-checkpoint`. A restarted replica
 * starts from it, so a leader elected before its followers return (or while the ISR is below
 * min.insync.replicas) still shows consumers what was committed before the restart, instead of
 * nothing until followers fetch again. It is written every few seconds and at shutdown, so it
 * may lag the real high watermark, never lead it: the high watermark only grows on a replica,
 * and it is bounded by the log end when read back.
 *
 * Format (text, one entry per line, like Kafka's):
 *
 *     0                       version
 *     2                       entry count
 *     <topic-id> <partition> <high watermark>
 *     ...
 */
import { partitionKey } from './partition-dirs';

export const highWatermarkCheckpointFileName = 'high-watermark-checkpoint';
/** How often the checkpoint is rewritten (Kafka's replica.high.watermark.checkpoint.interval.ms). */
export const highWatermarkCheckpointIntervalMs = 5_000;

const formatVersion = 0;

/** `entries` are keyed by `partitionKey`. */
export function encodeHighWatermarks(entries: ReadonlyMap<string, bigint>): Buffer {
  const lines = [String(formatVersion), String(entries.size)];
  for (const [key, highWatermark] of entries) {
    const at = key.lastIndexOf(':');
    lines.push(`${key.slice(0, at)} ${key.slice(at + 1)} ${highWatermark}`);
  }
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

/** The entries of a checkpoint file, keyed by `partitionKey`; throws with what is wrong if it is not one. */
export function decodeHighWatermarks(data: Buffer): Map<string, bigint> {
  const lines = data.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const [version, count, ...entries] = lines;
  if (version !== String(formatVersion)) throw new Error(`unknown checkpoint version ${JSON.stringify(version)}`);
  if (count === undefined || !/^\d+$/.test(count) || Number(count) !== entries.length) {
    throw new Error(`entry count ${JSON.stringify(count)} does not match the ${entries.length} entries`);
  }
  const result = new Map<string, bigint>();
  for (const [index, line] of entries.entries()) {
    const match = /^(\S+) (\d+) (\d+)$/.exec(line);
    if (match === null) throw new Error(`entry ${index + 1} is malformed: ${JSON.stringify(line.slice(0, 100))}`);
    result.set(partitionKey(match[1] as string, Number(match[2])), BigInt(match[3] as string));
  }
  return result;
}
