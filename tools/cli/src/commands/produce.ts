/**
 * `starlane produce TOPIC`: records from standard input, one per line, over one ProduceStream
 * with several requests in flight.
 */
import { v1 } from '@starlane/proto';
import { requestBytesFitting } from '../batch-fit';
import { ServerError, UsageError, exitCodes, itemFailure, type CliFailure } from '../errors';
import { parseFixedHeader, parseLine, type EmptyLines, type LineFormat } from '../line-format';
import { readLineGroups } from '../line-reader';
import { RequestBuilder, type Placement } from '../partitioner';
import { ProduceSession } from '../produce-session';
import { ProgressMeter, formatSummary, startProgressLine } from '../progress';
import { parseAcks, parseByteSize, parseInteger, unescapeSeparator } from '../values';
import type { CommandSpec, ParsedArgs } from '../command';
import type { CommandContext } from '../context';

export const produceDefaults = {
  /** Records per request: large enough to amortise a request, small enough to keep latency low. */
  requestRecordsMax: 10_000,
  /** Bytes per request: each partition's share becomes one batch, which must stay below the
   * topic's max.message.bytes (1 MiB by default, as in Kafka) and segment.bytes; a topic with
   * smaller limits gets smaller requests (`requestBytesFitting`). */
  requestBytesMax: 512 * 1024,
  /** Requests in flight on the stream; more hide the round trip, the gateway bounds it too. */
  inflightRequestsMax: 8,
  /** How long a started request waits for more input before it is sent. */
  lingerMs: 20,
  /** Longest input line; a longer one stops the run (exit 2). */
  lineBytesMax: 1024 * 1024,
} as const;

/** Upper bounds on the batching options, so a typo cannot ask for gigabytes of buffering. */
const requestBytesLimit = 32 * 1024 * 1024;
const inflightRequestsLimit = 256;

const acksLevels: Readonly<Record<string, v1.Acks>> = { all: v1.Acks.ALL, leader: v1.Acks.LEADER, none: v1.Acks.NONE };

export const produceCommand: CommandSpec = {
  path: ['produce'],
  summary: 'Write records read from standard input, one per line',
  usage: 'TOPIC',
  positionals: { min: 1, max: 1 },
  options: {
    'key-separator': { type: 'string', short: 'K', valueName: 'SEP', description: 'Split each line into KEY SEP VALUE at the first SEP (escapes: \\t \\n \\\\)' },
    header: { type: 'string', short: 'H', multiple: true, valueName: 'KEY=VALUE', description: 'Header added to every record' },
    'parse-headers': { type: 'boolean', description: 'Read headers at the start of each line (see below)' },
    'headers-delimiter': { type: 'string', valueName: 'SEP', description: 'Ends the headers part of a line (default \\t)' },
    'headers-separator': { type: 'string', valueName: 'SEP', description: 'Separates headers (default ,)' },
    'header-key-separator': { type: 'string', valueName: 'SEP', description: 'Separates a header key from its value (default :)' },
    partition: { type: 'string', short: 'p', valueName: 'N', description: 'Write every record to this partition (default: by key)' },
    acks: { type: 'string', short: 'a', valueName: 'LEVEL', description: 'all (default), leader or none; also -1, 1, 0' },
    'null-value-marker': { type: 'string', valueName: 'TEXT', description: 'A value equal to TEXT is sent as null (a tombstone)' },
    'null-key-marker': { type: 'string', valueName: 'TEXT', description: 'A key equal to TEXT is sent as null' },
    'empty-lines': { type: 'string', valueName: 'MODE', description: 'skip (default), empty (record with an empty value) or null (null value)' },
    'batch-records': { type: 'string', valueName: 'N', description: `Records per request (default ${produceDefaults.requestRecordsMax})` },
    'batch-bytes': { type: 'string', valueName: 'SIZE', description: `Bytes per request (default 512KiB)` },
    inflight: { type: 'string', valueName: 'N', description: `Requests in flight (default ${produceDefaults.inflightRequestsMax})` },
    'linger-ms': { type: 'string', valueName: 'MS', description: `Wait for more input before sending a partial request (default ${produceDefaults.lingerMs})` },
    'line-bytes-max': { type: 'string', valueName: 'SIZE', description: 'Longest input line (default 1MiB)' },
    'produce-timeout-ms': { type: 'string', valueName: 'MS', description: 'How long leaders may wait for replicas (default: the gateway default)' },
    quiet: { type: 'boolean', short: 'q', description: 'Print no progress and no summary' },
  },
  details: `Input: one record per line (\\n ends a line; a \\r before it is kept). Lines are bytes:
values need not be UTF-8. An empty line is skipped unless --empty-lines says otherwise.

  value                       --key-separator not given
  key<SEP>value               --key-separator SEP (a line without SEP has a null key)
  k1:v1,k2:v2<TAB>key<SEP>v   --parse-headers (a header without ':' has a null value)

Partitions: with --partition every record goes there. Otherwise records with a key go to
murmur2(key) % partitions, like Kafka's default partitioner, and records without a key go
to one partition per request, moving on with each request. If the topic does not exist
(a gateway may create it), the gateway places records (partition -1, one entry per key).

Requests hold up to --batch-records records or --batch-bytes bytes, and never more than
one batch of the topic may hold (its max.message.bytes and segment.bytes, read with
DescribeTopics), so a topic with small limits is written in smaller requests rather than
refused. A partial request is sent after --linger-ms without new input. Up to --inflight requests are unanswered at
once. The run stops at the first failed write (exit 1); the summary on stderr counts the
records the gateway acknowledged. A progress line is drawn on stderr when it is a terminal.

Examples:
  seq 1 100000 | starlane produce numbers
  printf 'user-1\\t{"n":1}\\n' | starlane produce events -K '\\t' -H source=cli`,
  async run(context, args) {
    const topic = args.positionals[0]!;
    const settings = produceSettings(args);
    return produce(context, topic, settings);
  },
};

interface ProduceSettings {
  readonly format: LineFormat;
  readonly partition: number | undefined;
  readonly acks: v1.Acks;
  readonly requestRecordsMax: number;
  readonly requestBytesMax: number;
  readonly inflightRequestsMax: number;
  readonly lingerMs: number;
  readonly lineBytesMax: number;
  readonly produceTimeoutMs: number;
  readonly quiet: boolean;
}

function optional<T>(args: ParsedArgs, name: string, parse: (text: string) => T, fallback: T): T {
  const text = args.string(name);
  return text === undefined ? fallback : parse(text);
}

function produceSettings(args: ParsedArgs): ProduceSettings {
  const emptyLines = optional<EmptyLines>(
    args,
    'empty-lines',
    (text) => {
      if (text === 'skip' || text === 'empty' || text === 'null') return text;
      throw new UsageError(`--empty-lines must be skip, empty or null, not '${text}'`, 'produce');
    },
    'skip',
  );
  const headerOptions = ['headers-delimiter', 'headers-separator', 'header-key-separator'].filter((name) => args.has(name));
  if (!args.flag('parse-headers') && headerOptions.length > 0) throw new UsageError(`--${headerOptions[0]} needs --parse-headers`, 'produce');
  const separator = (name: string, fallback: string): Buffer => unescapeSeparator(args.string(name) ?? fallback, `--${name}`);
  const marker = (name: string): Buffer | undefined => {
    const text = args.string(name);
    return text === undefined ? undefined : Buffer.from(text, 'utf8');
  };
  const keySeparator = args.string('key-separator');
  const format: LineFormat = {
    ...(keySeparator !== undefined ? { keySeparator: unescapeSeparator(keySeparator, '--key-separator') } : {}),
    ...(args.flag('parse-headers')
      ? { headers: { delimiter: separator('headers-delimiter', '\\t'), separator: separator('headers-separator', ','), keySeparator: separator('header-key-separator', ':') } }
      : {}),
    ...(marker('null-value-marker') !== undefined ? { nullValueMarker: marker('null-value-marker')! } : {}),
    ...(marker('null-key-marker') !== undefined ? { nullKeyMarker: marker('null-key-marker')! } : {}),
    emptyLines,
    fixedHeaders: args.strings('header').map(parseFixedHeader),
  };
  return {
    format,
    partition: optional<number | undefined>(args, 'partition', (text) => parseInteger(text, '--partition', 0), undefined),
    acks: acksLevels[optional(args, 'acks', parseAcks, 'all')]!,
    requestRecordsMax: optional(args, 'batch-records', (text) => parseInteger(text, '--batch-records', 1, 1_000_000), produceDefaults.requestRecordsMax),
    requestBytesMax: optional(args, 'batch-bytes', (text) => parseByteSize(text, '--batch-bytes', 1, requestBytesLimit), produceDefaults.requestBytesMax),
    inflightRequestsMax: optional(args, 'inflight', (text) => parseInteger(text, '--inflight', 1, inflightRequestsLimit), produceDefaults.inflightRequestsMax),
    lingerMs: optional(args, 'linger-ms', (text) => parseInteger(text, '--linger-ms', 0, 60_000), produceDefaults.lingerMs),
    lineBytesMax: optional(args, 'line-bytes-max', (text) => parseByteSize(text, '--line-bytes-max', 1, requestBytesLimit), produceDefaults.lineBytesMax),
    produceTimeoutMs: optional(args, 'produce-timeout-ms', (text) => parseInteger(text, '--produce-timeout-ms', 1), 0),
    quiet: args.flag('quiet'),
  };
}

/** Where records go, and how large requests may be for the topic to take their batches. */
interface TopicPlan {
  readonly placement: Placement;
  /** From the topic's max.message.bytes and segment.bytes (`requestBytesFitting`); undefined when unknown. */
  readonly requestBytesFitting: number | undefined;
}

/**
 * Looks the topic up (DescribeTopics with its effective configs). Records go to the given
 * partition, else hashed over the topic's partitions, else (the topic is unknown, and the
 * gateway may create it) placed by the gateway. With a given partition the look-up only sizes
 * requests: if it fails, the run goes on with the default sizes and the writes say what is wrong.
 */
async function planTopic(context: CommandContext, topic: string, partition: number | undefined): Promise<TopicPlan> {
  let description: v1.TopicDescription | undefined;
  try {
    description = await describeTopicWithConfigs(context, topic);
  } catch (error) {
    const unknown = error instanceof ServerError && error.code === 'UNKNOWN_TOPIC_OR_PARTITION';
    if (!unknown && partition === undefined) throw error;
  }
  const requestBytes = description === undefined ? undefined : requestBytesFitting(description.configs);
  if (partition !== undefined) return { placement: { kind: 'fixed', partition }, requestBytesFitting: requestBytes };
  const partitionCount = description?.partitions.length ?? 0;
  return { placement: partitionCount > 0 ? { kind: 'hashed', partitionCount } : { kind: 'gateway' }, requestBytesFitting: requestBytes };
}

async function describeTopicWithConfigs(context: CommandContext, topic: string): Promise<v1.TopicDescription> {
  const response = await context.gateway.describeTopics({ topics: [topic], topicIds: [], includeConfigs: true });
  const description = response.topics[0];
  if (description === undefined) throw new ServerError('UNKNOWN_SERVER_ERROR', `the gateway described no topic for ${topic}`);
  const failure = itemFailure(description.errorCode, description.errorMessage, `topic ${topic}`);
  if (failure !== undefined) throw failure;
  return description;
}

type Wake = 'input' | 'linger' | 'interrupt';

async function produce(context: CommandContext, topic: string, settings: ProduceSettings): Promise<number> {
  const { io } = context;
  const { placement, requestBytesFitting: fitting } = await planTopic(context, topic, settings.partition);
  const firstSticky = placement.kind === 'hashed' ? Math.floor(Math.random() * placement.partitionCount) : 0;
  // --batch-bytes (or its default) is a most: requests also stay small enough for the topic.
  const requestBytesMax = Math.min(settings.requestBytesMax, fitting ?? settings.requestBytesMax);
  const builder = new RequestBuilder(placement, { requestRecordsMax: settings.requestRecordsMax, requestBytesMax }, firstSticky);
  const meter = new ProgressMeter(io.now());
  const session = new ProduceSession(context.gateway.produceStream(), {
    topic,
    acks: settings.acks,
    timeoutMs: settings.produceTimeoutMs,
    inflightRequestsMax: settings.inflightRequestsMax,
    onAcknowledged: (records, bytes) => meter.add(records, bytes, io.now()),
    toFailure: (error) => context.gateway.failure(error),
  });
  const stopProgress = startProgressLine(io, meter, !settings.quiet);

  let interrupted = false;
  let wakeOnInterrupt: (() => void) | undefined;
  const stopListening = io.onInterrupt(() => {
    interrupted = true;
    wakeOnInterrupt?.();
  });
  const interruption = new Promise<Wake>((resolve) => {
    wakeOnInterrupt = () => resolve('interrupt');
  });

  const sendPending = async (): Promise<void> => {
    if (builder.records === 0) return;
    const records = builder.records;
    const bytes = builder.payloadBytes;
    await session.send(builder.take(), records, bytes);
  };

  let inputFailure: CliFailure | undefined;
  const groups = readLineGroups(io.stdin, settings.lineBytesMax);
  let lineNumber = 0;
  try {
    while (!interrupted && session.failure === undefined) {
      const next = groups.next();
      if (builder.records > 0) {
        // Wait for more input only as long as the linger allows, then send what there is.
        let timer: NodeJS.Timeout | undefined;
        const linger = new Promise<Wake>((resolve) => {
          timer = setTimeout(() => resolve('linger'), settings.lingerMs);
        });
        const wake = await Promise.race([next.then((): Wake => 'input'), linger, interruption]);
        clearTimeout(timer);
        if (wake === 'interrupt') break;
        if (wake === 'linger') await sendPending();
      }
      const result = await Promise.race([next, interruption]);
      if (typeof result === 'string' || result.done === true) break;
      for (const line of result.value) {
        lineNumber += 1;
        const record = parseLine(line, settings.format, lineNumber);
        if (record === undefined) continue;
        if (!builder.fits(record)) await sendPending();
        builder.add(record);
        if (builder.full) await sendPending();
      }
    }
  } catch (error) {
    // Bad input stops the run like the end of input does; anything else ends it at once.
    if (!(error instanceof UsageError)) {
      session.cancel();
      stopProgress();
      throw error;
    }
    inputFailure = error;
  } finally {
    stopListening();
  }
  // Input ended, failed or was interrupted: send what was read, then wait for every answer.
  await sendPending();
  await session.finish();
  stopProgress();
  // Stop reading stdin. Not awaited: after Ctrl-C a read may still be pending on a terminal.
  void groups.return();

  const failure = session.failure ?? inputFailure;
  if (!settings.quiet) {
    const partitions = [...session.partitionsWritten.keys()].sort((a, b) => a - b);
    const where = partitions.length === 0 ? ` to ${topic}` : ` to ${topic} (partition${partitions.length === 1 ? '' : 's'} ${partitions.join(',')})`;
    const stopped = interrupted ? ', interrupted' : failure !== undefined ? ', stopped by an error' : '';
    context.note(formatSummary('produced', meter.totals(io.now()), where, stopped));
  }
  if (failure !== undefined) throw failure;
  return exitCodes.ok;
}
