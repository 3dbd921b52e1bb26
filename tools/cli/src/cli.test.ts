import { createServer } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { commands, resolve, runCli } from './cli';
import { commandHelp, parseCommandArgs } from './command';
import { v1 } from '@starlane/proto';
import { boundedRanges } from './commands/consume';
import { listOffsets, lookupRetryBackoffMsMax } from './commands/lookups';
import { parseReplicaList } from './commands/partitions';
import { UsageError } from './errors';
import type { CliIo } from './io';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(argv: string[], env: Record<string, string> = {}): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const io: CliIo = {
    stdin: Readable.from([]),
    stdout,
    stderr,
    env,
    stderrIsTty: false,
    stdoutIsTty: false,
    now: () => 0,
    onInterrupt: () => () => undefined,
  };
  const code = await runCli(argv, io);
  return { code, stdout: out, stderr: err };
}

/** A port nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

describe('help and version', () => {
  it('prints the top-level help with every command and the exit codes', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const result = await run(argv);
      expect(result.code).toBe(0);
      for (const spec of commands) expect(result.stdout).toContain(spec.path.join(' '));
      expect(result.stdout).toContain('3  no answer');
    }
  });

  it('prints help for every command and group, both ways', async () => {
    for (const spec of commands) {
      const viaFlag = await run([...spec.path, '--help']);
      const viaHelp = await run(['help', ...spec.path]);
      expect(viaFlag.code).toBe(0);
      expect(viaFlag.stdout).toBe(commandHelp(spec));
      expect(viaHelp.stdout).toBe(viaFlag.stdout);
      expect(viaFlag.stdout).toContain(`Usage: starlane ${spec.path.join(' ')}`);
    }
    for (const group of ['topics', 'partitions', 'cluster']) {
      const result = await run([group, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: starlane ${group} COMMAND`);
    }
  });

  it('prints the version', async () => {
    expect(await run(['--version'])).toEqual({ code: 0, stdout: 'starlane 0.1.0\n', stderr: '' });
    expect((await run(['-V'])).stdout).toBe('starlane 0.1.0\n');
  });

  it('shows help on stderr with exit 2 when no command is given', async () => {
    const bare = await run([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: starlane COMMAND');
    const group = await run(['topics']);
    expect(group.code).toBe(2);
    expect(group.stderr).toContain('topics create');
  });
});

describe('usage errors exit 2 before any connection', () => {
  const cases: [string[], string][] = [
    [['bogus'], "unknown command 'bogus'"],
    [['topics', 'frobnicate'], "unknown command 'topics frobnicate'"],
    [['topics', 'list', '--bogus'], "Unknown option '--bogus'"],
    [['topics', 'create'], 'missing NAME'],
    [['topics', 'create', 't', '--partitions', 'zero'], '--partitions must be an integer'],
    [['topics', 'alter', 't'], 'nothing to change'],
    [['topics', 'add-partitions', 't'], '--total N is required'],
    [['offsets', 'a', 'b'], "unexpected argument 'b'"],
    [['partitions', 'reassign', '--partition', '0', '--replicas', '1'], '--topic TOPIC is required'],
    [['partitions', 'reassign', '--topic', 't', '--replicas', '1'], '--partition N is required'],
    [['partitions', 'reassign', '--topic', 't', '--partition', '0'], 'give either --replicas ID,... or --cancel'],
    [['partitions', 'reassign', '--topic', 't', '--partition', '0', '--replicas', '1', '--cancel'], 'give either --replicas ID,... or --cancel'],
    [['partitions', 'reassign', '--topic', 't', '--partition', '0', '--replicas', '1,x'], '--replicas must be an integer'],
    [['partitions', 'reassign', '--topic', 't', '--partition', '0', '--replicas', '2,3,2'], '--replicas lists node 2 more than once'],
    [['consume', 't', '--from', 'yesterday'], '--from must be'],
    [['consume', 't', '--format', 'csv'], '--format must be'],
    [['produce', 't', '--acks', '2'], '--acks must be'],
    [['produce', 't', '--headers-separator', ';'], '--headers-separator needs --parse-headers'],
    [['topics', 'list', '--gateway', 'nohostport'], '--gateway must be HOST:PORT'],
    [['--frob', 'topics', 'list'], "unknown option '--frob'"],
  ];
  it.each(cases)('%j', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error: ${message}`);
    expect(result.stderr).toMatch(/Run 'starlane .*--help' for usage/);
    expect(result.stdout).toBe('');
  });

  it('rejects a bad STARLANE_GATEWAY', async () => {
    const result = await run(['topics', 'list'], { STARLANE_GATEWAY: 'x' });
    expect(result.code).toBe(2);
  });
});

describe('an unreachable gateway', () => {
  it('exits 3, wherever the address comes from', async () => {
    const port = await closedPort();
    const viaFlag = await run(['--gateway', `127.0.0.1:${port}`, 'topics', 'list']);
    expect(viaFlag.code).toBe(3);
    expect(viaFlag.stderr).toContain(`error: gateway 127.0.0.1:${port} is unreachable`);
    const viaEnv = await run(['cluster', 'describe'], { STARLANE_GATEWAY: `127.0.0.1:${port}` });
    expect(viaEnv.code).toBe(3);
  });
});

describe('argument resolution', () => {
  it('moves global options given before the command to the command', () => {
    const resolved = resolve(['--gateway', 'h:1', '--timeout-ms=5', 'topics', 'list', '-q']);
    expect(resolved).toMatchObject({ kind: 'command', argv: ['-q', '--gateway', 'h:1', '--timeout-ms=5'] });
  });

  it('collects repeatable options in order and reads short flags', () => {
    const create = commands.find((spec) => spec.path.join(' ') === 'topics create')!;
    const args = parseCommandArgs(create, ['t', '-p', '3', '-c', 'a=1', '--config', 'b=2', '--if-not-exists']);
    expect(args.positionals).toEqual(['t']);
    expect(args.string('partitions')).toBe('3');
    expect(args.strings('config')).toEqual(['a=1', 'b=2']);
    expect(args.flag('if-not-exists')).toBe(true);
    expect(() => parseCommandArgs(create, ['t', '--partitions'])).toThrow(UsageError);
  });
});

describe('replica lists', () => {
  it('keeps the order given (the first is the preferred leader) and allows spaces', () => {
    expect(parseReplicaList('3, 1,2', '--replicas')).toEqual([3, 1, 2]);
    expect(() => parseReplicaList('', '--replicas')).toThrow(UsageError);
    expect(() => parseReplicaList('-1', '--replicas')).toThrow(UsageError);
  });
});

describe('bounded consume ranges', () => {
  it('starts each partition where the position says and ends at the latest offset seen', () => {
    const latest = [10n, 0n, 5n];
    expect(boundedRanges('t', [0, 1, 2], { kind: 'earliest' }, latest, [2n, 0n, 5n])).toEqual([
      { partition: 0, start: 2n, end: 10n },
      { partition: 1, start: 0n, end: 0n },
      { partition: 2, start: 5n, end: 5n },
    ]);
    expect(boundedRanges('t', [0], { kind: 'latest' }, [10n], undefined)).toEqual([{ partition: 0, start: 10n, end: 10n }]);
    expect(boundedRanges('t', [0], { kind: 'offset', offset: 4n }, [10n], [0n])).toEqual([{ partition: 0, start: 4n, end: 10n }]);
    // The latest offset is in the log (nothing to print yet); past it, or before the earliest, is not.
    expect(boundedRanges('t', [0], { kind: 'offset', offset: 10n }, [10n], [0n])).toEqual([{ partition: 0, start: 10n, end: 10n }]);
    const [past, before] = boundedRanges('t', [0, 1], { kind: 'offset', offset: 9999n }, [10n, 20_000n], [0n, 10_000n]);
    expect(past?.failure).toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', message: 'offset 9999 is outside [0, 10] (t/0)' });
    expect(before?.failure).toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', message: 'offset 9999 is outside [10000, 20000] (t/1)' });
    // A timestamp after every record finds -1: nothing to read.
    expect(boundedRanges('t', [0, 1], { kind: 'timestamp', timestampMs: 5n }, [10n, 10n], [-1n, 7n])).toEqual([
      { partition: 0, start: 10n, end: 10n },
      { partition: 1, start: 7n, end: 10n },
    ]);
  });
});

describe('offset look-ups', () => {
  function result(partition: number, offset: bigint, errorCode = v1.ErrorCode.NONE): v1.ListOffsetsPartitionResult {
    return { topic: 't', partition, offset, timestampMs: -1n, leaderEpoch: -1, errorCode, errorMessage: errorCode === v1.ErrorCode.NONE ? '' : 'not yet' };
  }

  /** A gateway answering from `answers` in turn, on a manual clock that `sleep` advances. */
  function scripted(answers: v1.ListOffsetsPartitionResult[][]) {
    let nowMs = 0;
    const sleeps: number[] = [];
    const gateway = {
      callTimeoutMs: 5_000,
      calls: 0,
      listOffsets(): Promise<v1.ListOffsetsResponse> {
        const partitions = answers[Math.min(gateway.calls, answers.length - 1)]!;
        gateway.calls += 1;
        return Promise.resolve({ partitions });
      },
    };
    const clock = {
      now: () => nowMs,
      sleep: (ms: number) => {
        sleeps.push(ms);
        nowMs += ms;
        return Promise.resolve();
      },
    };
    return { gateway, clock, sleeps };
  }

  it('asks again after a growing back-off while a new leader cannot say where its log ends', async () => {
    const notYet = [result(0, -1n, v1.ErrorCode.OFFSET_NOT_AVAILABLE), result(1, 7n)];
    const { gateway, clock, sleeps } = scripted([notYet, notYet, notYet, [result(0, 5n), result(1, 7n)]]);
    await expect(listOffsets(gateway, 't', [0, 1], [{ boundary: 'latest' }], clock)).resolves.toEqual([[5n, 7n]]);
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it('gives up with the error once the call timeout would pass, and at once on other errors', async () => {
    const { gateway, clock, sleeps } = scripted([[result(0, -1n, v1.ErrorCode.OFFSET_NOT_AVAILABLE)]]);
    await expect(listOffsets(gateway, 't', [0], [{ boundary: 'latest' }], clock)).rejects.toMatchObject({ code: 'OFFSET_NOT_AVAILABLE' });
    expect(sleeps).toEqual([100, 200, 400, 800, 1600]);
    expect(sleeps.every((ms) => ms <= lookupRetryBackoffMsMax)).toBe(true);
    const unknown = scripted([[result(0, -1n, v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)]]);
    await expect(listOffsets(unknown.gateway, 't', [0], [{ boundary: 'latest' }], unknown.clock)).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION' });
    expect(unknown.gateway.calls).toBe(1);
  });
});
