/**
 * `starlane consume TOPIC`: prints records from a Subscribe stream (RECORDS format), from a
 * chosen start, until the end offsets seen at start (or, with --follow, until stopped).
 */
import { v1 } from '@starlane/proto';
import { ServerError, UsageError, exitCodes, itemFailure, type CliFailure } from '../errors';
import { ProgressMeter, formatSummary, startProgressLine } from '../progress';
import { compileFormat, type ConsumedRecord, type RecordFormatter } from '../record-format';
import { parseInteger, parseStartPosition, type StartPosition } from '../values';
import { listOffsets, topicPartitions, type OffsetQuery } from './lookups';
import type { CommandSpec } from '../command';
import type { CommandContext } from '../context';

/** Partitions one consume may read at once (the gateway has its own cap on Subscribe). */
export const consumePartitionsMax = 10_000;

export const consumeCommand: CommandSpec = {
  path: ['consume'],
  summary: 'Print records of a topic',
  usage: 'TOPIC',
  positionals: { min: 1, max: 1 },
  options: {
    partition: { type: 'string', short: 'p', multiple: true, valueName: 'N', description: 'Read only this partition (default: all)' },
    from: { type: 'string', short: 'o', valueName: 'POSITION', description: 'earliest (default), latest, OFFSET, @TIMESTAMP_MS or an ISO-8601 date' },
    follow: { type: 'boolean', short: 'f', description: 'Keep printing new records until Ctrl-C' },
    'max-records': { type: 'string', short: 'c', valueName: 'N', description: 'Stop after N records' },
    format: { type: 'string', short: 'F', valueName: 'FORMAT', description: "value (default), json, or a format string such as '%k=%s\\n'" },
    quiet: { type: 'boolean', short: 'q', description: 'Print no progress and no summary on stderr' },
  },
  details: `Without --follow, consume stops once it has printed every record below the end
offsets the partitions had when it started (ListOffsets LATEST). With --follow it keeps
going until Ctrl-C or --max-records. Ctrl-C stops cleanly and prints a summary on stderr.

Formats:
  value   the value, then a newline (a null value prints an empty line)
  json    one object per line: {"topic","partition","offset","timestamp","key","value",
          "headers":[{"key","value"}]}; bytes appear as UTF-8 text when they are valid UTF-8,
          else as base64 with "keyEncoding"/"valueEncoding": "base64" beside them
  other   a kcat-style format string, printed as is (end it with \\n):
          %t topic  %p partition  %o offset  %T timestamp (ms)  %k key  %K key length
          %s or %v value  %S value length  %h headers (k=v,k2=v2)  %% percent
          escapes \\n \\r \\t \\0 \\\\

Examples:
  starlane consume orders --from earliest --format json
  starlane consume orders -p 0 --from 2024-05-01T00:00:00Z -F '%o %k %s\\n'
  starlane consume orders --from latest --follow`,
  async run(context, args) {
    const topic = args.positionals[0]!;
    const formatter = compileFormat(args.string('format') ?? 'value');
    const start = parseStartPosition(args.string('from') ?? 'earliest');
    const maxText = args.string('max-records');
    const maxRecords = maxText === undefined ? undefined : parseInteger(maxText, '--max-records', 1, Number.MAX_SAFE_INTEGER);
    const partitionTexts = args.strings('partition');
    if (partitionTexts.length > consumePartitionsMax) throw new UsageError(`at most ${consumePartitionsMax} --partition options`, 'consume');
    const explicit = [...new Set(partitionTexts.map((text) => parseInteger(text, '--partition', 0)))];
    const partitions = explicit.length > 0 ? explicit : await topicPartitions(context.gateway, topic);
    return consume(context, { topic, partitions, start, follow: args.flag('follow'), maxRecords, formatter, quiet: args.flag('quiet') });
  },
};

interface ConsumeSettings {
  readonly topic: string;
  readonly partitions: readonly number[];
  readonly start: StartPosition;
  readonly follow: boolean;
  readonly maxRecords: number | undefined;
  readonly formatter: RecordFormatter;
  readonly quiet: boolean;
}

/** The start of a partition as Subscribe takes it. */
function startSpec(start: StartPosition): v1.OffsetSpec {
  switch (start.kind) {
    case 'earliest':
      return { spec: { $case: 'boundary', value: v1.OffsetBoundary.EARLIEST } };
    case 'latest':
      return { spec: { $case: 'boundary', value: v1.OffsetBoundary.LATEST } };
    case 'offset':
      return { spec: { $case: 'offset', value: start.offset } };
    case 'timestamp':
      return { spec: { $case: 'timestampMs', value: start.timestampMs } };
  }
}

export interface PartitionRange {
  readonly partition: number;
  /** First offset to print. */
  readonly start: bigint;
  /** Offset to stop before (the end offset seen at start). */
  readonly end: bigint;
  /** Why the partition cannot be read from `start` (an offset outside its log); undefined when it can. */
  readonly failure?: ServerError;
}

/**
 * For a bounded read: each partition's exact start and end offsets, from one ListOffsets
 * call. A timestamp after every record (-1) starts at the end; `latest` starts at the end.
 * `found` holds the earliest offsets for `earliest` and for an exact offset, and the
 * timestamps' offsets for a timestamp. An exact offset outside [earliest, latest] is
 * OFFSET_OUT_OF_RANGE, as a subscription there is answered (docs/cli.md); the latest offset
 * itself is in range and has nothing to print yet.
 */
export function boundedRanges(topic: string, partitions: readonly number[], start: StartPosition, latest: readonly bigint[], found: readonly bigint[] | undefined): PartitionRange[] {
  return partitions.map((partition, index) => {
    const end = latest[index]!;
    let from: bigint;
    switch (start.kind) {
      case 'latest':
        from = end;
        break;
      case 'offset': {
        from = start.offset;
        const earliest = found?.[index];
        if (from > end || (earliest !== undefined && from < earliest)) {
          const failure = new ServerError('OFFSET_OUT_OF_RANGE', `offset ${from} is outside [${earliest ?? 0n}, ${end}] (${topic}/${partition})`);
          return { partition, start: from, end, failure };
        }
        break;
      }
      case 'earliest':
      case 'timestamp': {
        const offset = found?.[index] ?? -1n;
        from = offset < 0n ? end : offset;
        break;
      }
    }
    return { partition, start: from, end };
  });
}

async function startRanges(context: CommandContext, settings: ConsumeSettings): Promise<PartitionRange[]> {
  const queries: OffsetQuery[] = [{ boundary: 'latest' }];
  if (settings.start.kind === 'earliest' || settings.start.kind === 'offset') queries.push({ boundary: 'earliest' });
  if (settings.start.kind === 'timestamp') queries.push({ timestampMs: settings.start.timestampMs });
  const [latest, found] = await listOffsets(context.gateway, settings.topic, settings.partitions, queries);
  return boundedRanges(settings.topic, settings.partitions, settings.start, latest!, found);
}

function toConsumed(topic: string, partition: number, record: v1.Record): ConsumedRecord {
  return {
    topic,
    partition,
    offset: record.offset,
    timestampMs: record.timestampMs,
    key: record.nullableKey?.value ?? null,
    value: record.nullableValue?.value ?? null,
    headers: record.headers.map((header) => ({ key: header.key, value: header.nullableValue?.value ?? null })),
  };
}

async function consume(context: CommandContext, settings: ConsumeSettings): Promise<number> {
  const { io, out } = context;
  // Bounded reads resolve their starts first: a partition with nothing to read is done
  // before it starts, and the rest subscribe at exact offsets.
  const ranges = settings.follow ? undefined : await startRanges(context, settings);
  const endOffsets = new Map<number, bigint>(ranges?.map((range) => [range.partition, range.end]));
  const active = new Set<number>(ranges === undefined ? settings.partitions : ranges.filter((range) => range.failure === undefined && range.start < range.end).map((range) => range.partition));
  const meter = new ProgressMeter(io.now());
  const summary = (note: string): void => {
    if (!settings.quiet) context.note(formatSummary('consumed', meter.totals(io.now()), ` from ${settings.topic}`, note));
  };
  // Partitions that cannot be read from the start asked for are reported as a subscription
  // reports them, and the others are read.
  let partitionFailures = 0;
  for (const range of ranges ?? []) {
    if (range.failure === undefined) continue;
    context.note(`error: ${range.failure.describe()}`);
    partitionFailures += 1;
  }
  if (active.size === 0) {
    summary('');
    return partitionFailures > 0 ? exitCodes.serverError : exitCodes.ok;
  }
  const subscribePartitions: v1.SubscribePartition[] =
    ranges === undefined
      ? settings.partitions.map((partition) => ({ topic: settings.topic, partition, start: startSpec(settings.start) }))
      : ranges.filter((range) => active.has(range.partition)).map((range) => ({ topic: settings.topic, partition: range.partition, start: startSpec({ kind: 'offset', offset: range.start }) }));

  const call = context.gateway.subscribe({
    partitions: subscribePartitions,
    maxBytesPerMessage: 0,
    isolationLevel: v1.IsolationLevel.READ_UNCOMMITTED,
    format: v1.RecordFormat.RECORDS,
  });
  // Progress competes with records for the terminal only when stdout is not one.
  const stopProgress = startProgressLine(io, meter, !settings.quiet && !io.stdoutIsTty);
  let printed = 0;
  let stopReason: 'end' | 'max' | 'interrupt' | 'closed' | undefined;
  let streamFailure: CliFailure | undefined;

  let stopListening = (): void => undefined;
  const outcome = new Promise<void>((resolve) => {
    const stop = (reason: NonNullable<typeof stopReason>): void => {
      if (stopReason !== undefined) return;
      stopReason = reason;
      call.cancel();
      resolve();
    };
    stopListening = io.onInterrupt(() => stop('interrupt'));
    call.on('data', (message: v1.SubscribeResponse) => {
      if (stopReason !== undefined) return;
      const chunks: Buffer[] = [];
      let bytes = 0;
      for (const result of message.partitions) {
        const failure = itemFailure(result.errorCode, result.errorMessage, `${result.topic}/${result.partition}`);
        if (failure !== undefined) {
          context.note(`error: ${failure.describe()}`);
          partitionFailures += 1;
          active.delete(result.partition);
          continue;
        }
        const end = endOffsets.get(result.partition);
        const records = result.payload?.$case === 'records' ? result.payload.value.records : [];
        for (const record of records) {
          if (end !== undefined && record.offset >= end) break;
          const text = settings.formatter(toConsumed(result.topic, result.partition, record));
          chunks.push(text);
          bytes += (record.nullableKey?.value.length ?? 0) + (record.nullableValue?.value.length ?? 0);
          printed += 1;
          if (printed === settings.maxRecords) break;
        }
        if (printed === settings.maxRecords) break;
        if (end !== undefined && result.nextOffset >= end) active.delete(result.partition);
      }
      if (chunks.length > 0) {
        meter.add(chunks.length, bytes, io.now());
        if (!out.write(Buffer.concat(chunks))) {
          // Let HTTP/2 flow control hold the gateway back while stdout catches up.
          call.pause();
          void out.drained().then(() => call.resume());
        }
      }
      if (out.closed) stop('closed');
      else if (printed === settings.maxRecords) stop('max');
      else if (active.size === 0) stop('end');
    });
    call.on('error', (error: unknown) => {
      if (stopReason !== undefined) return;
      streamFailure = context.gateway.failure(error);
      stop('end');
    });
    call.on('end', () => stop('end'));
  });
  await outcome;
  stopListening();
  stopProgress();
  await out.drained();

  if (streamFailure !== undefined) {
    summary(', stopped by an error');
    throw streamFailure;
  }
  summary(stopReason === 'interrupt' ? ', interrupted' : '');
  if (out.error !== undefined) throw out.error;
  return partitionFailures > 0 ? exitCodes.serverError : exitCodes.ok;
}
