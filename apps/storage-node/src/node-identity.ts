/**
 * What a storage node keeps about itself in its data directory:
 *
 *   <data-dir>/meta.json        {"version":1,"nodeId":1,"clusterId":"...","directoryId":"...","bootId":"..."}
 *   <data-dir>/clean-shutdown   present only between a clean stop and the next start
 *
 * `meta.json` ties the data to one node id and, from the first registration on, to one cluster
 * (as Kafka's meta.properties): a node started with another id, or registering with a
 * controller of another cluster, refuses rather than mixes data. `directoryId` names the
 * directory to the controller (RegisterNode.log_dirs), so a swapped disk is recognised.
 *
 * The clean-shutdown marker is written after every partition log closed cleanly and removed
 * at start, before any log opens, so its presence at start means the previous run stopped
 * cleanly. `bootId` is the boot whose page cache holds the data's unflushed writes: a process
 * killed within that boot lost none of them (`nothingUnflushedLost` in @starlane/replica). The
 * two decide what registration reports as `clean_shutdown`: that nothing unflushed can have been
 * lost, which the controller uses when it chooses leaders (KIP-966).
 */
import { StarlaneError } from '@starlane/model';
import { joinPath, type LogFileSystem } from '@starlane/io-ports';
import { bootIdOnceRegistered, bootIdToRecord, nothingUnflushedLost, type BootIdReader } from '@starlane/replica';

export const metaFileName = 'meta.json';
export const cleanShutdownMarkerName = 'clean-shutdown';
/** meta.json is a few hundred bytes; a larger file is not ours. */
export const metaFileBytesMax = 64 * 1024;

interface MetaFile {
  readonly version: 1;
  readonly nodeId: number;
  readonly clusterId: string;
  readonly directoryId: string;
  /** The boot whose page cache holds every unflushed write of the data; absent when unknown (files from before, or a loss not yet reported). */
  readonly bootId?: string;
}

export class NodeIdentity {
  private constructor(
    private readonly fs: LogFileSystem,
    readonly dataDir: string,
    private meta: MetaFile,
    /**
     * Whether no unflushed write can have been lost since the previous run: it stopped cleanly,
     * or it stopped within this boot (the page cache outlived it). A new or wiped data directory
     * has lost what it held: false. Registration reports it as `clean_shutdown`.
     */
    readonly nothingUnflushedLost: boolean,
    private readonly currentBootId: string | undefined,
  ) {}

  /**
   * Reads (or creates) the identity of the node in `dataDir`, consumes the clean-shutdown
   * marker and records the boot (`bootIdToRecord`), before any log opens. Refuses a directory
   * that belongs to another node id.
   */
  static async load(fs: LogFileSystem, dataDir: string, nodeId: number, newDirectoryId: () => string, readBootId: BootIdReader): Promise<NodeIdentity> {
    const path = joinPath(dataDir, metaFileName);
    const bytes = await fs.readFile(path);
    let meta: MetaFile;
    let isNew = false;
    if (bytes === null) {
      meta = { version: 1, nodeId, clusterId: '', directoryId: newDirectoryId() };
      isNew = true;
      await fs.writeFileAtomic(path, serialize(meta));
    } else {
      meta = parse(bytes, path);
      if (meta.nodeId !== nodeId) {
        throw new StarlaneError('CONFIG_INVALID', `${dataDir} holds the data of node ${meta.nodeId}; this node is configured as ${nodeId} (--node-id)`);
      }
    }
    const markerPath = joinPath(dataDir, cleanShutdownMarkerName);
    const marked = await fs.exists(markerPath);
    const currentBootId = await readBootId();
    const lostNothing = nothingUnflushedLost({ isNew, stoppedCleanly: marked, bootId: meta.bootId }, currentBootId);
    meta = await writeBootId(fs, path, meta, bootIdToRecord(lostNothing, currentBootId));
    if (marked) {
      // Gone before any log opens: a crash from here on must read as unclean.
      await fs.remove(markerPath);
      await fs.syncDirectory(dataDir);
    }
    return new NodeIdentity(fs, dataDir, meta, lostNothing, currentBootId);
  }

  get nodeId(): number {
    return this.meta.nodeId;
  }

  /** Empty until the first registration. */
  get clusterId(): string {
    return this.meta.clusterId;
  }

  get directoryId(): string {
    return this.meta.directoryId;
  }

  /** Records the cluster this data now belongs to; durable once resolved. */
  async storeClusterId(clusterId: string): Promise<void> {
    if (this.meta.clusterId !== '' && this.meta.clusterId !== clusterId) {
      throw new StarlaneError('INCONSISTENT_CLUSTER_ID', `${this.dataDir} belongs to cluster ${this.meta.clusterId}, not ${clusterId}`);
    }
    const next: MetaFile = { ...this.meta, clusterId };
    await this.fs.writeFileAtomic(joinPath(this.dataDir, metaFileName), serialize(next));
    this.meta = next;
  }

  /**
   * The controller registered this incarnation, so it heard of any loss: from now on the data's
   * unflushed writes are this boot's (`bootIdOnceRegistered`).
   */
  async registered(): Promise<void> {
    this.meta = await writeBootId(this.fs, joinPath(this.dataDir, metaFileName), this.meta, bootIdOnceRegistered(this.currentBootId));
  }

  /** Leaves the marker that says every log was closed cleanly. */
  async markCleanShutdown(): Promise<void> {
    await this.fs.writeFileAtomic(joinPath(this.dataDir, cleanShutdownMarkerName), Buffer.alloc(0));
  }
}

/** Stores `bootId` in the meta file unless it holds it already. */
async function writeBootId(fs: LogFileSystem, path: string, meta: MetaFile, bootId: string | undefined): Promise<MetaFile> {
  if (meta.bootId === bootId) return meta;
  const { bootId: _previous, ...rest } = meta;
  const next: MetaFile = bootId === undefined ? rest : { ...rest, bootId };
  await fs.writeFileAtomic(path, serialize(next));
  return next;
}

function serialize(meta: MetaFile): Buffer {
  return Buffer.from(`${JSON.stringify(meta)}\n`);
}

function parse(bytes: Buffer, path: string): MetaFile {
  const bad = (why: string): StarlaneError => new StarlaneError('CONFIG_INVALID', `${path} is not a storage node's meta file (${why}); move it away or point --data-dir elsewhere`);
  if (bytes.length > metaFileBytesMax) throw bad(`${bytes.length} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw bad(String(error));
  }
  const meta = value as Partial<Record<keyof MetaFile, unknown>>;
  if (meta.version !== 1) throw bad(`version ${String(meta.version)}`);
  if (typeof meta.nodeId !== 'number' || !Number.isSafeInteger(meta.nodeId)) throw bad('no node id');
  if (typeof meta.clusterId !== 'string' || typeof meta.directoryId !== 'string' || meta.directoryId === '') throw bad('no cluster or directory id');
  // Absent in files from before it was recorded: an unknown boot.
  if (meta.bootId !== undefined && typeof meta.bootId !== 'string') throw bad('a boot id that is not a string');
  const identity = { version: 1 as const, nodeId: meta.nodeId, clusterId: meta.clusterId, directoryId: meta.directoryId };
  return meta.bootId === undefined ? identity : { ...identity, bootId: meta.bootId };
}
