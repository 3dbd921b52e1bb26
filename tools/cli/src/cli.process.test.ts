/**
 * The `starlane` bin as a user runs it, against a real cluster (controller, one storage node,
 * gateway) started from the built bundles.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, killAll, startCluster, workspaceRoot, type TestCluster } from '@starlane/testing';

jest.setTimeout(120_000);

const bin = join(workspaceRoot(), 'tools', 'cli', 'bin', 'starlane.mjs');
/** Longest a single CLI run may take before the test kills it. */
const runTimeoutMs = 30_000;

interface CliRun {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<CliRun>;
  stdoutText(): string;
}

let cluster: TestCluster;

function spawnCli(args: readonly string[], options: { stdin?: string | Buffer; env?: Record<string, string> } = {}): Running {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, STARLANE_GATEWAY: cluster.gatewayAddress, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  else child.stdin!.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), runTimeoutMs);
  const done = new Promise<CliRun>((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout), stderr });
    });
  });
  return { child, done, stdoutText: () => Buffer.concat(stdout).toString('utf8') };
}

function cli(args: readonly string[], options: { stdin?: string | Buffer; env?: Record<string, string> } = {}): Promise<CliRun> {
  return spawnCli(args, options).done;
}

/** Runs and expects success; returns stdout as text. */
async function ok(args: readonly string[], stdin?: string | Buffer): Promise<string> {
  const run = await cli(args, stdin === undefined ? {} : { stdin });
  if (run.code !== 0) throw new Error(`starlane ${args.join(' ')} exited ${run.code}\nstderr:\n${run.stderr}`);
  return run.stdout.toString('utf8');
}

interface JsonRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  valueEncoding?: string;
  headers: { key: string; value: string | null }[];
}

function jsonLines(text: string): JsonRecord[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as JsonRecord);
}

/** Resolves once `running` has printed text containing `needle`. */
function printed(running: Running, needle: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (running.stdoutText().includes(needle)) {
        running.child.stdout!.off('data', check);
        resolve();
      }
    };
    running.child.stdout!.on('data', check);
    running.child.once('close', () => reject(new Error(`exited before printing ${needle}`)));
    check();
  });
}

beforeAll(async () => {
  cluster = await startCluster({ storageNodes: 1 });
});

afterAll(async () => {
  await cluster?.stop();
  await killAll();
});

describe('cluster and topics', () => {
  it('describes the cluster', async () => {
    const text = await ok(['cluster', 'describe']);
    expect(text).toMatch(/^Cluster ID: +\S+/m);
    expect(text).toMatch(/^1 +127\.0\.0\.1 +\d+ +- +active$/m);
    // With the file store the one controller, active.
    expect(text).toMatch(/^CONTROLLER +HOST +PORT +ROLE\n0 +127\.0\.0\.1 +\d+ +active$/m);
    const json = JSON.parse(await ok(['cluster', 'describe', '--json'])) as { nodes: { nodeId: number; state: string }[]; controllers: { controllerId: number; role: string }[] };
    expect(json.nodes).toEqual([expect.objectContaining({ nodeId: 1, state: 'active' })]);
    expect(json.controllers).toEqual([expect.objectContaining({ controllerId: 0, role: 'active' })]);
  });

  it('creates, lists, describes, alters, grows and deletes a topic', async () => {
    expect(await ok(['topics', 'create', 'admin-t', '--partitions', '3', '--config', 'retention.ms=86400000'])).toBe(
      'Created topic admin-t (3 partitions, replication factor 1).\n',
    );
    const again = await cli(['topics', 'create', 'admin-t']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: TOPIC_ALREADY_EXISTS: /m);
    expect(await ok(['topics', 'create', 'admin-t', '--if-not-exists'])).toBe('Topic admin-t already exists.\n');

    expect(await ok(['topics', 'list'])).toMatch(/^admin-t +3 +\S+$/m);
    expect((await ok(['topics', 'list', '-q'])).split('\n')).toContain('admin-t');

    await cluster.waitForLeaders('admin-t');
    const described = await ok(['topics', 'describe', 'admin-t']);
    expect(described).toMatch(/^Topic: admin-t +TopicId: \S+ +PartitionCount: 3 +ReplicationFactor: 1/m);
    expect(described).toMatch(/^ +retention\.ms +86400000 +topic$/m);
    for (const partition of [0, 1, 2]) expect(described).toMatch(new RegExp(`^${partition} +1 +\\d+ +1 +1 +-$`, 'm'));

    expect(await ok(['topics', 'alter', 'admin-t', '--set', 'retention.ms=1000', '--set', 'cleanup.policy=compact'])).toBe('Altered configs of topic admin-t.\n');
    const altered = JSON.parse(await ok(['topics', 'describe', 'admin-t', '--json'])) as { configs: Record<string, { value: string; source: string }> };
    expect(altered.configs['retention.ms']).toEqual({ value: '1000', source: 'topic' });
    expect(altered.configs['cleanup.policy']).toEqual({ value: 'compact', source: 'topic' });
    await ok(['topics', 'alter', 'admin-t', '--delete', 'cleanup.policy']);
    const overrides = await ok(['topics', 'describe', 'admin-t', '--overrides-only']);
    expect(overrides).toContain('retention.ms');
    expect(overrides).not.toContain('cleanup.policy');

    expect(await ok(['topics', 'add-partitions', 'admin-t', '--total', '4'])).toBe('Topic admin-t now has 4 partitions.\n');
    expect(await ok(['topics', 'describe', 'admin-t'])).toContain('PartitionCount: 4');

    expect(await ok(['topics', 'delete', 'admin-t'])).toBe('Deleted topic admin-t.\n');
    const gone = await cli(['topics', 'describe', 'admin-t']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error: UNKNOWN_TOPIC_OR_PARTITION: /m);
    expect(await ok(['topics', 'delete', 'admin-t', '--if-exists'])).toBe('Topic admin-t does not exist.\n');
  });
});

describe('partitions', () => {
  it('reassigns a partition, refuses what the controller refuses, and lists moves in progress', async () => {
    await ok(['topics', 'create', 'moved-t']);
    await cluster.waitForLeaders('moved-t');
    // With one storage node the only target is the node it is on: the move completes at once.
    expect(await ok(['partitions', 'reassign', '--topic', 'moved-t', '--partition', '0', '--replicas', '1'])).toBe('Moving partition 0 of topic moved-t to 1.\n');
    expect(await ok(['partitions', 'reassign', '-t', 'moved-t', '-p', '0', '-r', '1', '--validate-only'])).toBe('Moving partition 0 of topic moved-t to 1 is valid.\n');
    const unknownNode = await cli(['partitions', 'reassign', '--topic', 'moved-t', '--partition', '0', '--replicas', '1,7']);
    expect(unknownNode.code).toBe(1);
    expect(unknownNode.stderr).toMatch(/^error: INVALID_REPLICA_ASSIGNMENT: .*node 7/m);
    const nothingToCancel = await cli(['partitions', 'reassign', '--topic', 'moved-t', '--partition', '0', '--cancel']);
    expect(nothingToCancel.code).toBe(1);
    expect(nothingToCancel.stderr).toMatch(/^error: NO_REASSIGNMENT_IN_PROGRESS: /m);
    expect(await ok(['partitions', 'reassignments'])).toBe('TOPIC  PARTITION  REPLICAS  ADDING  IN-SYNC  REMOVING  STARTED\n');
    expect(await ok(['partitions', 'reassignments', '--json'])).toBe('');
  });
});

describe('produce and consume', () => {
  const topic = 'events';

  beforeAll(async () => {
    await ok(['topics', 'create', topic, '--partitions', '2']);
    await cluster.waitForLeaders(topic);
  });

  it('round-trips values, keys and headers in every output format', async () => {
    const values = await cli(['produce', topic, '--partition', '0'], { stdin: 'a\nb\n\nc' });
    expect(values.code).toBe(0);
    expect(values.stderr).toMatch(/^produced 3 records \(3 B\) to events \(partition 0\) in /m);

    await ok(['produce', topic, '-K', '\\t', '-H', 'src=cli', '-q'], 'k1\tv1\nk2\tv2\n');
    await ok(['produce', topic, '-K', '\\t', '--parse-headers', '--partition', '1', '-q'], 'h1:x,h2\tk3\tv3\n');
    await ok(['produce', topic, '--partition', '1', '-q'], Buffer.from([0xff, 0xfe, 0x0a]));

    const records = jsonLines(await ok(['consume', topic, '--from', 'earliest', '--format', 'json']));
    const summary = (record: JsonRecord): unknown => [record.partition, record.key, record.value, record.headers];
    expect(records.filter((record) => record.partition === 0 && record.key === null).map(summary)).toEqual([
      [0, null, 'a', []],
      [0, null, 'b', []],
      [0, null, 'c', []],
    ]);
    expect(records.filter((record) => record.partition === 0 && record.key === null).map((record) => record.offset)).toEqual([0, 1, 2]);
    // murmur2 puts k1 and k2 on partition 1 of 2, as any Kafka client would.
    for (const key of ['k1', 'k2']) {
      expect(records.find((record) => record.key === key)).toMatchObject({ partition: 1, value: `v${key.slice(1)}`, headers: [{ key: 'src', value: 'cli' }] });
    }
    expect(records.find((record) => record.key === 'k3')).toMatchObject({
      partition: 1,
      value: 'v3',
      headers: [
        { key: 'h1', value: 'x' },
        { key: 'h2', value: null },
      ],
    });
    expect(records.find((record) => record.valueEncoding === 'base64')).toMatchObject({ partition: 1, value: Buffer.from([0xff, 0xfe]).toString('base64') });
    expect(records).toHaveLength(7);
    for (const record of records) {
      expect(record.topic).toBe(topic);
      expect(record.timestamp).toBeGreaterThan(1_600_000_000_000);
    }

    const plain = await cli(['consume', topic, '--partition', '0', '--from', 'earliest']);
    expect(plain.code).toBe(0);
    expect(plain.stdout.toString('utf8').split('\n').slice(0, 3)).toEqual(['a', 'b', 'c']);
    expect(plain.stderr).toMatch(/^consumed \d+ records .* from events in /m);

    const custom = await ok(['consume', topic, '-p', '1', '--from', '2', '--format', '%t|%p|%o|%k|%s|%h\\n', '--max-records', '1']);
    expect(custom).toBe('events|1|2|k3|v3|h1=x,h2\n');

    const raw = await cli(['consume', topic, '-p', '1', '--from', '3', '--format', '%s']);
    expect(raw.stdout).toEqual(Buffer.from([0xff, 0xfe]));
  });

  it('sends null values for the marker and empty values for empty lines, at every acks level', async () => {
    await ok(['topics', 'create', 'nulls']);
    await cluster.waitForLeaders('nulls');
    await ok(['produce', 'nulls', '-K', ':', '--null-value-marker', 'NULL', '--acks', 'leader', '-q'], 'k1:NULL\nk2:\n');
    await ok(['produce', 'nulls', '--empty-lines', 'empty', '--acks', 'all', '-q'], '\n');
    await ok(['produce', 'nulls', '--empty-lines', 'null', '--acks', 'all', '-q'], '\n');
    // acks none answers before the write: produce it last and read up to what is there.
    await ok(['produce', 'nulls', '--acks', 'none', '-q'], 'fire-and-forget\n');
    const records = jsonLines(await ok(['consume', 'nulls', '--format', 'json', '--follow', '--max-records', '5']));
    expect(records.map((record) => [record.key, record.value])).toEqual([
      ['k1', null],
      ['k2', ''],
      [null, ''],
      [null, null],
      [null, 'fire-and-forget'],
    ]);
  });

  it('fits its default batching to a topic with a small segment.bytes and produces everything', async () => {
    // 2000 records of 100 bytes: the default 512 KiB request would be one 200 KB batch, which a
    // 4 KiB segment refuses (RECORD_LIST_TOO_LARGE); keyed ones land on both partitions.
    await ok(['topics', 'create', 'small-segments', '--partitions', '2', '--config', 'segment.bytes=4096']);
    await cluster.waitForLeaders('small-segments');
    const lines = Array.from({ length: 2000 }, (_, index) => `key-${index % 7}:${String(index).padStart(100, '.')}`).join('\n');
    const produced = await cli(['produce', 'small-segments', '-K', ':'], { stdin: lines });
    expect({ code: produced.code, stderr: produced.stderr }).toEqual({ code: 0, stderr: expect.stringMatching(/^produced 2,000 records /m) });
    const unkeyed = await cli(['produce', 'small-segments', '--partition', '1'], { stdin: Array.from({ length: 300 }, () => 'x'.repeat(500)).join('\n') });
    expect({ code: unkeyed.code, stderr: unkeyed.stderr }).toEqual({ code: 0, stderr: expect.stringMatching(/^produced 300 records /m) });
    const offsets = (await ok(['offsets', 'small-segments'])).trim().split('\n').slice(1).map((line) => line.split(/ +/).map(Number));
    expect(offsets.reduce((sum, [, earliest = 0, latest = 0]) => sum + latest - earliest, 0)).toBe(2300);
  });

  it('follows new records until Ctrl-C, then prints a summary', async () => {
    const end = (await ok(['offsets', topic, '--partition', '0', '--json'])).trim();
    const latest = (JSON.parse(end) as { latest: number }).latest;
    const following = spawnCli(['consume', topic, '--partition', '0', '--from', String(latest), '--follow', '--format', '%o:%s\\n']);
    await ok(['produce', topic, '--partition', '0', '-q'], 'later\n');
    await printed(following, `${latest}:later\n`);
    following.child.kill('SIGINT');
    const run = await following.done;
    expect(run.code).toBe(0);
    expect(run.stdout.toString('utf8')).toBe(`${latest}:later\n`);
    expect(run.stderr).toMatch(/^consumed 1 record .*, interrupted$/m);
  });
});

describe('positions', () => {
  const topic = 'positions';

  beforeAll(async () => {
    await ok(['topics', 'create', topic, '--partitions', '1']);
    await cluster.waitForLeaders(topic);
    await ok(['produce', topic, '-q'], 'a1\na2\na3\n');
    await ok(['produce', topic, '-q'], 'b1\nb2\n');
  });

  it('starts from an exact offset', async () => {
    expect(await ok(['consume', topic, '--from', '3'])).toBe('b1\nb2\n');
    expect(await ok(['consume', topic, '--from', '5'])).toBe('');
    expect(await ok(['consume', topic, '--from', 'latest'])).toBe('');
  });

  it('starts from a timestamp, in milliseconds or as ISO-8601', async () => {
    const records = jsonLines(await ok(['consume', topic, '--format', 'json']));
    expect(records.map((record) => record.value)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    const second = records[3]!.timestamp;
    // Two runs of the CLI are a process start apart, so the second batch is stamped later.
    expect(second).toBeGreaterThan(records[2]!.timestamp);
    expect(await ok(['consume', topic, '--from', `@${second}`])).toBe('b1\nb2\n');
    expect(await ok(['consume', topic, '--from', new Date(second).toISOString()])).toBe('b1\nb2\n');
    expect(await ok(['consume', topic, '--from', `@${second + 3_600_000}`])).toBe('');
  });

  it('refuses an offset past the end with OFFSET_OUT_OF_RANGE and exit 1, bounded as with --follow', async () => {
    for (const follow of [[], ['--follow']]) {
      const run = await cli(['consume', topic, '--from', '9999', ...follow]);
      expect({ follow, code: run.code, stdout: run.stdout.toString('utf8') }).toEqual({ follow, code: 1, stdout: '' });
      expect(run.stderr).toMatch(/^error: OFFSET_OUT_OF_RANGE: offset 9999 is outside \[0, 5\] \(positions\/0\)$/m);
    }
  });

  it('reports earliest and latest offsets', async () => {
    expect(await ok(['offsets', topic])).toBe('PARTITION  EARLIEST  LATEST\n0          0         5\n');
  });
});

describe('while the controller is stopped', () => {
  it('produces and consumes without naming a partition and describes topics, from the gateway metadata', async () => {
    await ok(['topics', 'create', 'outage', '--partitions', '3']);
    await cluster.waitForLeaders('outage');
    const pid = cluster.controller.child.pid!;
    // Frozen, not gone: calls to it hang rather than fail, as during an etcd outage or a failover.
    process.kill(pid, 'SIGSTOP');
    try {
      expect(await ok(['topics', 'describe', 'outage'])).toMatch(/PartitionCount: 3/);
      expect((await ok(['topics', 'list', '-q'])).split('\n')).toContain('outage');
      await ok(['produce', 'outage', '-K', ':', '-q'], 'a:1\nb:2\nc:3\nd:4\n');
      const consumed = await ok(['consume', 'outage', '--format', '%k=%s\\n', '-q']);
      expect(consumed.split('\n').filter((line) => line !== '').sort()).toEqual(['a=1', 'b=2', 'c=3', 'd=4']);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });
});

describe('failures', () => {
  it('exits 1 with the error code for an unknown topic', async () => {
    for (const args of [['consume', 'no-such-topic'], ['offsets', 'no-such-topic'], ['topics', 'describe', 'no-such-topic']]) {
      const run = await cli(args);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^error: UNKNOWN_TOPIC_OR_PARTITION: /m);
    }
    const produce = await cli(['produce', 'no-such-topic'], { stdin: 'x\n' });
    expect(produce.code).toBe(1);
    expect(produce.stderr).toMatch(/^error: UNKNOWN_TOPIC_OR_PARTITION: /m);
  });

  it('exits 2 on a bad flag, naming it', async () => {
    const run = await cli(['topics', 'list', '--no-such-flag']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("error: Unknown option '--no-such-flag'");
  });

  it('exits 3 when no gateway answers', async () => {
    const port = await freePort();
    const run = await cli(['topics', 'list'], { env: { STARLANE_GATEWAY: `127.0.0.1:${port}` } });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`error: gateway 127.0.0.1:${port} is unreachable`);
  });
});
