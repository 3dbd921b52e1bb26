/**
 * One storage node's host: its disk (a MemoryFileSystem that outlives the node's
 * incarnations), its process (timers that pause and die with it), its metadata watcher, and
 * the node code under simulation (a SimNode).
 *
 * A crash is a power loss: the process dies at once (no close, no timers, no answers) and the
 * disk keeps what was synced plus a seeded torn tail of the rest; the node restarts over it as
 * a new incarnation, in a new boot (`bootId`, as Linux's /proc/sys/kernel/random/boot_id). A
 * kill is the death of the process alone: the OS keeps every write it took (the page cache
 * outlives the process) and the next incarnation runs in the same boot. Code of a dead incarnation may still be mid-await: its filesystem is
 * fenced, so it can never write to the disk the next incarnation recovers from.
 */
import { MemoryFileSystem, type LogFile, type LogFileSystem } from '@starlane/io-ports';
import { StarlaneError } from '@starlane/model';
import type { MetadataImage } from '@starlane/metadata';
import { controllerEndpoint, type ControllerHost, type MetadataPull } from './controller-host';
import type { SimNetwork } from './network';
import type { SimLogger, SimNode, SimNodeFactory } from './sim-node';
import { HostScheduler, type SimClock, type SimScheduler } from './sim-time';
import type { SimTrace } from './trace';

/** How long the metadata watcher waits before reconnecting a broken stream (MetadataWatcher's retry backoff). */
export const metadataReconnectMs = 100;
/** Deadline of a controller call made through the link when the node passes none. */
export const controllerCallDeadlineMs = 2000;

export function nodeEndpoint(nodeId: number): string {
  return `node-${nodeId}`;
}

/**
 * What a dead incarnation's code gets from its disk. A dead process runs nothing, so the
 * simulation ignores this error wherever it surfaces (an unhandled rejection included).
 */
export class DeadProcessError extends StarlaneError {
  constructor() {
    super('STORAGE_UNAVAILABLE', 'the process that opened this file is dead');
  }
}

/** Whether `path` is a segment file of a partition log: the only files that hold records. */
function isSegmentFile(path: string): boolean {
  return path.endsWith('.log');
}

/**
 * A filesystem that stops working for good once `alive()` is false (a dead process's handles).
 * `onRewrite` hears of every change to bytes a segment file already held (a shrinking
 * truncation, a write below its end, a removal, a rename, a whole-file replacement): the
 * simulation's log checks re-read what they had verified after one (see log-snapshots.ts).
 */
export function fencedFileSystem(fs: LogFileSystem, alive: () => boolean, onRewrite: () => void = () => undefined): LogFileSystem {
  const check = (): void => {
    if (!alive()) throw new DeadProcessError();
  };
  const rewriting = (path: string): void => {
    if (isSegmentFile(path)) onRewrite();
  };
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      check();
      const result = await call(...args);
      check();
      return result;
    };
  const fenceFile = (file: LogFile, path: string): LogFile => ({
    size: guard(() => file.size()),
    read: guard((buffer: Buffer, bufferOffset: number, length: number, position: number) => file.read(buffer, bufferOffset, length, position)),
    write: guard(async (buffers: readonly Buffer[], position: number) => {
      if (isSegmentFile(path) && position < (await file.size())) onRewrite();
      return file.write(buffers, position);
    }),
    sync: guard(() => file.sync()),
    truncate: guard(async (size: number) => {
      if (isSegmentFile(path) && size < (await file.size())) onRewrite();
      return file.truncate(size);
    }),
    close: () => file.close(),
  });
  return {
    makeDirectory: guard((path: string) => fs.makeDirectory(path)),
    list: guard((directory: string) => fs.list(directory)),
    open: guard(async (path: string, options: { create: boolean }) => fenceFile(await fs.open(path, options), path)),
    readFile: guard((path: string) => fs.readFile(path)),
    writeFileAtomic: guard((path: string, data: Buffer) => {
      rewriting(path);
      return fs.writeFileAtomic(path, data);
    }),
    exists: guard((path: string) => fs.exists(path)),
    remove: guard((path: string) => {
      rewriting(path);
      return fs.remove(path);
    }),
    rename: guard((from: string, to: string) => {
      rewriting(from);
      rewriting(to);
      return fs.rename(from, to);
    }),
    syncDirectory: guard((directory: string) => fs.syncDirectory(directory)),
  };
}

/** Removes every file under `path` (directories in MemoryFileSystem need no removal). */
async function removeTree(fs: LogFileSystem, path: string): Promise<void> {
  if (!(await fs.exists(path))) return;
  let names: string[];
  try {
    names = await fs.list(path);
  } catch {
    await fs.remove(path);
    return;
  }
  for (const name of names) await removeTree(fs, `${path}/${name}`);
}

/** Log fields as one line of JSON (bigints as numbers' text). */
function traceFields(fields: object): string {
  return JSON.stringify(fields, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

export type NodeStatus = 'down' | 'starting' | 'up' | 'paused';

export class NodeHost<Req, Res> {
  readonly endpoint: string;
  readonly disk = new MemoryFileSystem();
  /** Boots of the node's machine so far: a power loss starts the next one. */
  private boots = 1;
  private host: HostScheduler | undefined;
  private current: SimNode<Req, Res> | undefined;
  private incarnations = 0;
  private started = false;
  private rewrites = 0;

  constructor(
    readonly nodeId: number,
    private readonly factory: SimNodeFactory<Req, Res>,
    private readonly clock: SimClock,
    private readonly scheduler: SimScheduler,
    private readonly network: SimNetwork,
    private readonly controller: ControllerHost,
    private readonly nodes: (nodeId: number) => NodeHost<Req, Res> | undefined,
    private readonly trace: SimTrace,
    private readonly fail: (message: string) => void,
  ) {
    this.endpoint = nodeEndpoint(nodeId);
  }

  get status(): NodeStatus {
    if (this.host === undefined || this.current === undefined) return 'down';
    if (this.host.isPaused) return 'paused';
    return this.started ? 'up' : 'starting';
  }

  /** The running node (paused included), if any. */
  get node(): SimNode<Req, Res> | undefined {
    return this.current;
  }

  /** The current (or last) incarnation: 1 for the first start, +1 per restart. */
  get incarnation(): number {
    return this.incarnations;
  }

  /** Changes to bytes the node's segment files already held, so far (see `fencedFileSystem`). */
  get logRewrites(): number {
    return this.rewrites;
  }

  /** Whether the node's replicas can be read for the checks: its process is up (maybe paused). */
  get readable(): boolean {
    return this.status === 'up' || this.status === 'paused';
  }

  /** Starts a new incarnation over the disk. */
  start(): void {
    if (this.current !== undefined) return;
    const host = new HostScheduler(this.scheduler);
    const incarnation = ++this.incarnations;
    this.host = host;
    this.started = false;
    this.network.attach(this.endpoint, host);
    const alive = (): boolean => !host.isDead;
    const endpoint = this.endpoint;
    const network = this.network;
    const controller = this.controller;
    const trace = this.trace;
    // The node's log lines go to the trace (a bounded ring): they are what explains a failure.
    const line = (level: string) => (fields: object, message: string) => trace.record(`${endpoint} ${level}: ${message} ${traceFields(fields)}`);
    const logger: SimLogger = { info: line('info'), warn: line('warn'), error: line('error') };
    const fs = fencedFileSystem(this.disk, alive, () => {
      this.rewrites += 1;
    });
    const node = this.factory({
      nodeId: this.nodeId,
      incarnation,
      bootId: `node-${this.nodeId}-boot-${this.boots}`,
      fs,
      directory: `/data/node-${this.nodeId}`,
      clock: this.clock,
      scheduler: host,
      controller: {
        call: (method, body, deadlineMs) => network.unary(endpoint, controllerEndpoint, method, () => controller.handle(body), deadlineMs > 0 ? deadlineMs : controllerCallDeadlineMs),
      },
      streams: {
        open: (leader) => network.openStream<Req, Res>(endpoint, nodeEndpoint(leader.nodeId), 'replica-fetch', () => this.nodes(leader.nodeId)?.node?.openFetchSession()),
      },
      removeTree: (path) => removeTree(fs, path),
      logger,
      fail: (message) => {
        if (alive()) this.fail(`${endpoint}: ${message}`);
      },
    });
    this.current = node;
    this.trace.record(`${endpoint} starting (incarnation ${incarnation})`);
    node.start().then(
      () => {
        if (!alive()) return;
        this.started = true;
        this.trace.record(`${endpoint} started`);
        this.watchMetadata(host, node);
      },
      (error: unknown) => {
        if (alive()) this.fail(`${endpoint} failed to start: ${error instanceof Error ? error.message : String(error)}`);
      },
    );
  }

  /** The metadata watcher: pulls images in order; reconnects after a break and gets the latest. */
  private watchMetadata(host: HostScheduler, node: SimNode<Req, Res>): void {
    const connect = (): void => {
      if (host.isDead) return;
      const stream = this.network.openStream<MetadataPull, MetadataImage>(this.endpoint, controllerEndpoint, 'metadata', () => this.controller.openFeed());
      const pull = (): void => {
        stream.fetch({ afterVersion: node.metadataVersion }).then(
          (image) => {
            if (host.isDead) return;
            if (image.version > node.metadataVersion) node.applyMetadata(image);
            pull();
          },
          () => {
            if (!host.isDead) host.schedule(metadataReconnectMs, connect);
          },
        );
      };
      pull();
    };
    connect();
  }

  /** Power loss: the process dies now, the disk keeps a torn tail of unsynced writes, the machine boots again. */
  crash(tornBytes: (path: string, unsyncedBytes: number) => number): void {
    if (this.current === undefined) return;
    this.boots += 1;
    this.stop(tornBytes, 'crashed');
  }

  /** SIGKILL: the process dies now; the OS keeps every write it took, in the same boot. */
  kill(): void {
    if (this.current === undefined) return;
    this.stop((_path, unsyncedBytes) => unsyncedBytes, 'killed');
  }

  private stop(tornBytes: (path: string, unsyncedBytes: number) => number, how: string): void {
    this.host?.kill();
    this.network.detach(this.endpoint);
    this.host = undefined;
    this.current = undefined;
    this.started = false;
    this.disk.crash(tornBytes);
    this.trace.record(`${this.endpoint} ${how}`);
  }

  pause(): void {
    if (this.host === undefined || this.host.isPaused) return;
    this.host.pause();
    this.trace.record(`${this.endpoint} paused`);
  }

  resume(): void {
    if (this.host === undefined || !this.host.isPaused) return;
    this.host.resume();
    this.trace.record(`${this.endpoint} resumed`);
  }
}
