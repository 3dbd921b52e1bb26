/**
 * The metadata store on etcd, shared by every controller of a cluster. Keys, under the
 * cluster's prefix:
 *
 *   metadata/version                           version of the last committed batch (decimal)
 *   metadata/batches/<version, 16 digits>      a batch, as JSON, keyed by the version it ends at
 *   metadata/snapshot                          manifest of the newest snapshot: its version,
 *                                              chunk count and bytes
 *   metadata/chunks/<version>/snapshot/<i>     the snapshot's JSON, in pieces of `valueBytesMax`
 *   metadata/chunks/<version>/batch/<i>        a batch too large for one value, likewise (its
 *                                              batches/ key then holds {"chunked": ...})
 *
 * Batch and snapshot JSON are the file store's: `batchToJson`, and
 * `{formatVersion: 1, version, records}`.
 *
 * Every write is a transaction that first compares the writer's fence — the controller
 * election key still has the create revision of the writer's term — so a deposed controller
 * can never write (NOT_CONTROLLER). An append's transaction also compares `metadata/version`
 * with the batch's base version, and puts the batch and the new version together. Every
 * `snapshotIntervalBatches` batches the store writes a snapshot: the chunks first (each in
 * its own transaction, under keys of that version, so the current snapshot stays whole), then
 * one transaction that compares the version, puts the manifest and deletes every batch and
 * chunk the snapshot covers. A crash between leaves unreferenced chunks, deleted by the next
 * snapshot.
 *
 * etcd refuses requests above its `--max-request-bytes` (1.5 MiB by default), so no value is
 * larger than `valueBytesMax` (1 MiB by default) and every transaction carries at most one.
 */
import { Range, type ComparatorBuilder, type IKeyValue, type Namespace } from 'etcd3';
import { batchFromJson, batchToJson, recordFromJson, recordToJson, type LoadedMetadata, type MetadataBatch, type MetadataSnapshot, type MetadataStore } from '@starlane/metadata';
import { StarlaneError, assert } from '@starlane/model';
import { etcdFailure, etcdResponseBytesMax } from './client';

/** A condition under which writes commit: `key` exists with this create revision (a controller's election term). */
export interface StoreFence {
  readonly key: string;
  readonly createRevision: string;
}

export interface EtcdMetadataStoreOptions {
  /** The cluster's namespace (see `clusterNamespace`). */
  readonly namespace: Namespace;
  /** Writes commit only while this holds: the writer's term as active controller. */
  readonly fence: StoreFence;
  /** Batches between snapshots; default `snapshotIntervalBatchesDefault`. */
  readonly snapshotIntervalBatches?: number;
  /** Largest value written; longer snapshots and batches are split. Default `valueBytesMaxDefault`. */
  readonly valueBytesMax?: number;
}

/** What the last load found, for the controller's log. */
export interface EtcdStoreRecovery {
  readonly snapshotVersion: number;
  readonly batches: number;
  readonly version: number;
}

export const snapshotIntervalBatchesDefault = 1000;
/** Well under etcd's default request limit of 1.5 MiB, leaving room for keys and comparisons. */
export const valueBytesMaxDefault = 1024 * 1024;
/** Most pieces one value is split into (a 1 TiB snapshot at the default value size). */
export const chunksMax = 999_999;

export const metadataKeys = {
  version: 'metadata/version',
  snapshot: 'metadata/snapshot',
  batches: 'metadata/batches/',
  chunks: 'metadata/chunks/',
} as const;

const versionDigits = 16; // Number.MAX_SAFE_INTEGER has 16 digits.
const chunkIndexDigits = 6;
const snapshotFormatVersion = 1;

type ChunkKind = 'snapshot' | 'batch';

function padVersion(version: number): string {
  return version.toString().padStart(versionDigits, '0');
}

export function batchKey(version: number): string {
  return `${metadataKeys.batches}${padVersion(version)}`;
}

function chunksOf(version: number, kind: ChunkKind): string {
  return `${metadataKeys.chunks}${padVersion(version)}/${kind}/`;
}

function chunkKey(version: number, kind: ChunkKind, index: number): string {
  return `${chunksOf(version, kind)}${index.toString().padStart(chunkIndexDigits, '0')}`;
}

function damaged(why: string): never {
  throw new StarlaneError('STORAGE_UNAVAILABLE', `the metadata in etcd is damaged or incomplete: ${why}`);
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return damaged(`${what} is not JSON`);
  }
}

function parseCount(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) damaged(`${what} is not a count`);
  return value;
}

function parseVersion(bytes: Buffer): number {
  const text = bytes.toString('utf8');
  if (!/^\d{1,16}$/.test(text)) damaged(`${metadataKeys.version} holds ${JSON.stringify(text.slice(0, 40))}`);
  return parseCount(Number(text), metadataKeys.version);
}

/** Where a value split into chunks is: `{"chunked": {"chunks": n, "bytes": b}}` in place of the value. */
interface ChunkedRef {
  readonly chunks: number;
  readonly bytes: number;
}

function chunkedRef(json: unknown): ChunkedRef | undefined {
  if (typeof json !== 'object' || json === null || !('chunked' in json)) return undefined;
  const ref = (json as { chunked: unknown }).chunked;
  if (typeof ref !== 'object' || ref === null) return damaged('a chunk reference is malformed');
  const { chunks, bytes } = ref as Record<string, unknown>;
  return { chunks: parseCount(chunks, 'a chunk count'), bytes: parseCount(bytes, 'a chunked size') };
}

export class EtcdMetadataStore implements MetadataStore {
  private readonly namespace: Namespace;
  private readonly snapshotIntervalBatches: number;
  private readonly valueBytesMax: number;
  /** Keys per range request while loading: a page of values stays under the client's response bound. */
  private readonly pageKeysMax: number;
  private loaded = false;
  private version = 0;
  private batchesSinceSnapshot = 0;
  private failure: StarlaneError | undefined;
  private recoveryReport: EtcdStoreRecovery | undefined;

  constructor(private readonly options: EtcdMetadataStoreOptions) {
    this.namespace = options.namespace;
    this.snapshotIntervalBatches = options.snapshotIntervalBatches ?? snapshotIntervalBatchesDefault;
    this.valueBytesMax = options.valueBytesMax ?? valueBytesMaxDefault;
    assert(this.snapshotIntervalBatches >= 1, 'snapshotIntervalBatches must be at least 1');
    assert(this.valueBytesMax >= 1 && this.valueBytesMax <= valueBytesMaxDefault, `valueBytesMax must be from 1 to ${valueBytesMaxDefault}`);
    this.pageKeysMax = Math.max(1, Math.min(1000, Math.floor(etcdResponseBytesMax / 2 / this.valueBytesMax)));
  }

  /** What the last load found. */
  get recovery(): EtcdStoreRecovery | undefined {
    return this.recoveryReport;
  }

  async load(): Promise<LoadedMetadata> {
    assert(!this.loaded, 'a metadata store is loaded once');
    if (this.failure !== undefined) throw this.failure;
    let loaded: LoadedMetadata;
    try {
      // Everything is read as of one revision: what the version key said is what the rest shows.
      const head = await this.namespace.get(metadataKeys.version).exec();
      const revision = head.header.revision;
      const versionKv = head.kvs[0];
      const storedVersion = versionKv === undefined ? 0 : parseVersion(versionKv.value);
      const manifest = await this.namespace.get(metadataKeys.snapshot).revision(revision).buffer();
      const snapshot = manifest === null ? undefined : await this.readSnapshot(manifest, revision);
      let version = snapshot?.version ?? 0;
      const batches: MetadataBatch[] = [];
      const after = new Range(batchKey(version + 1), Range.prefix(metadataKeys.batches).end);
      for await (const kv of this.scan(after, revision)) {
        const batch = await this.readBatch(kv, revision);
        // A batch that does not follow on means state is missing: refuse rather than serve a
        // different cluster.
        if (batch.baseVersion !== version) damaged(`batch ${batch.baseVersion}..${batch.version} does not follow version ${version}`);
        batches.push(batch);
        version = batch.version;
      }
      if (version !== storedVersion) damaged(`${metadataKeys.version} is ${storedVersion} but the snapshot and batches end at ${version}`);
      this.version = version;
      this.batchesSinceSnapshot = batches.length;
      this.recoveryReport = { snapshotVersion: snapshot?.version ?? 0, batches: batches.length, version };
      loaded = { snapshot, batches };
    } catch (error) {
      throw etcdFailure('load the metadata', error);
    }
    this.loaded = true;
    return loaded;
  }

  async append(batch: MetadataBatch, snapshot: () => MetadataSnapshot): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (!this.loaded) throw new StarlaneError('STORAGE_UNAVAILABLE', 'metadata store used before load');
    if (batch.baseVersion !== this.version) throw new StarlaneError('NOT_CONTROLLER', `metadata store is at version ${this.version}, not ${batch.baseVersion}`);
    try {
      const bytes = Buffer.from(JSON.stringify(batchToJson(batch)), 'utf8');
      let value = bytes;
      if (bytes.length > this.valueBytesMax) {
        const chunks = await this.writeChunks(batch.version, 'batch', bytes);
        value = Buffer.from(JSON.stringify({ chunked: { chunks, bytes: bytes.length } }), 'utf8');
      }
      const ns = this.namespace;
      const compare = this.fenced();
      // The version key is absent until the first batch.
      if (batch.baseVersion === 0) compare.and(metadataKeys.version, 'Create', '==', 0);
      else compare.and(metadataKeys.version, 'Value', '==', batch.baseVersion.toString());
      const result = await compare
        .then(ns.put(batchKey(batch.version)).value(value), ns.put(metadataKeys.version).value(batch.version.toString()))
        .else(ns.get(metadataKeys.version), ns.get(this.options.fence.key))
        .commit();
      if (!result.succeeded) throw this.refusal(result.responses, batch.baseVersion);
    } catch (error) {
      throw this.fail('append to', error);
    }
    this.version = batch.version;
    this.batchesSinceSnapshot += 1;
    if (this.batchesSinceSnapshot >= this.snapshotIntervalBatches) {
      // The batch is committed whatever happens here; a failed snapshot only stops later appends.
      try {
        await this.writeSnapshot(snapshot());
      } catch (error) {
        this.fail('snapshot', error);
      }
    }
  }

  async close(): Promise<void> {
    // The etcd client belongs to the caller; only this store's use of it ends.
    this.failure ??= new StarlaneError('STORAGE_UNAVAILABLE', 'metadata store is closed');
  }

  /** A transaction that commits only while the fence holds. */
  private fenced(): ComparatorBuilder {
    const { key, createRevision } = this.options.fence;
    return this.namespace.if(key, 'Create', '==', createRevision);
  }

  /** Why a fenced transaction did not commit, from its else branch: (version key, fence key). */
  private refusal(responses: readonly { response_range?: { kvs: IKeyValue[] } }[], baseVersion: number | undefined): StarlaneError {
    const fenceKv = responses[responses.length - 1]?.response_range?.kvs[0];
    if (fenceKv?.create_revision !== this.options.fence.createRevision) {
      return new StarlaneError('NOT_CONTROLLER', 'this controller no longer holds the controller lease; another controller is or will be active');
    }
    const versionKv = responses[0]?.response_range?.kvs[0];
    const stored = versionKv === undefined ? '0' : versionKv.value.toString('utf8');
    return new StarlaneError('NOT_CONTROLLER', `the metadata in etcd is at version ${stored}, not ${baseVersion ?? '?'}: another controller wrote it`);
  }

  /** Writes `bytes` as chunks of `version`, one fenced transaction each; returns their count. */
  private async writeChunks(version: number, kind: ChunkKind, bytes: Buffer): Promise<number> {
    const count = Math.ceil(bytes.length / this.valueBytesMax);
    if (count > chunksMax) throw new StarlaneError('STORAGE_UNAVAILABLE', `a metadata ${kind} of ${bytes.length} bytes needs more than ${chunksMax} chunks`);
    for (let index = 0; index < count; index += 1) {
      const piece = bytes.subarray(index * this.valueBytesMax, (index + 1) * this.valueBytesMax);
      const result = await this.fenced()
        .then(this.namespace.put(chunkKey(version, kind, index)).value(piece))
        .else(this.namespace.get(this.options.fence.key))
        .commit();
      if (!result.succeeded) throw this.refusal(result.responses, undefined);
    }
    return count;
  }

  private async writeSnapshot(snapshot: MetadataSnapshot): Promise<void> {
    assert(snapshot.version === this.version, 'a snapshot is of the state after the last batch');
    const version = snapshot.version;
    const bytes = Buffer.from(JSON.stringify({ formatVersion: snapshotFormatVersion, version, records: snapshot.records.map(recordToJson) }), 'utf8');
    const chunks = await this.writeChunks(version, 'snapshot', bytes);
    const manifest = JSON.stringify({ formatVersion: snapshotFormatVersion, version, chunks, bytes: bytes.length });
    const ns = this.namespace;
    const result = await this.fenced()
      .and(metadataKeys.version, 'Value', '==', version.toString())
      .then(
        ns.put(metadataKeys.snapshot).value(manifest),
        // Every batch up to and including this version, and every chunk of older versions
        // (the previous snapshot's among them) or of this version's batch.
        ns.delete().range(new Range(metadataKeys.batches, batchKey(version + 1))),
        ns.delete().range(new Range(metadataKeys.chunks, `${metadataKeys.chunks}${padVersion(version)}/`)),
        ns.delete().prefix(chunksOf(version, 'batch')),
      )
      .else(ns.get(metadataKeys.version), ns.get(this.options.fence.key))
      .commit();
    if (!result.succeeded) throw this.refusal(result.responses, version);
    this.batchesSinceSnapshot = 0;
  }

  private async readSnapshot(manifestBytes: Buffer, revision: string): Promise<MetadataSnapshot> {
    const manifest = parseJson(manifestBytes, metadataKeys.snapshot) as Record<string, unknown> | null;
    if (typeof manifest !== 'object' || manifest === null) return damaged(`${metadataKeys.snapshot} is not an object`);
    if (manifest['formatVersion'] !== snapshotFormatVersion) return damaged(`snapshot format ${String(manifest['formatVersion'])} is not ${snapshotFormatVersion}`);
    const version = parseCount(manifest['version'], 'the snapshot version');
    const bytes = await this.readChunks(version, 'snapshot', { chunks: parseCount(manifest['chunks'], 'the snapshot chunk count'), bytes: parseCount(manifest['bytes'], 'the snapshot size') }, revision);
    const json = parseJson(bytes, `the snapshot at version ${version}`) as { formatVersion?: unknown; version?: unknown; records?: unknown } | null;
    if (json?.formatVersion !== snapshotFormatVersion || json.version !== version || !Array.isArray(json.records)) return damaged(`the snapshot at version ${version} is malformed`);
    return { version, records: json.records.map(recordFromJson) };
  }

  private async readBatch(kv: IKeyValue, revision: string): Promise<MetadataBatch> {
    const key = kv.key.toString('utf8');
    let json = parseJson(kv.value, key);
    const ref = chunkedRef(json);
    if (ref !== undefined) {
      const version = Number(key.slice(metadataKeys.batches.length));
      json = parseJson(await this.readChunks(version, 'batch', ref, revision), key);
    }
    const batch = batchFromJson(json);
    if (batchKey(batch.version) !== key) damaged(`${key} holds the batch ending at ${batch.version}`);
    return batch;
  }

  /** The value split into `ref.chunks` chunks of `version`, checked whole. */
  private async readChunks(version: number, kind: ChunkKind, ref: ChunkedRef, revision: string): Promise<Buffer> {
    if (ref.chunks > chunksMax) damaged(`${kind} ${version} claims ${ref.chunks} chunks`);
    const pieces: Buffer[] = [];
    // Chunks past the count are left over from a write that did not commit.
    for await (const kv of this.scan(Range.prefix(chunksOf(version, kind)), revision)) {
      if (pieces.length === ref.chunks) break;
      if (kv.key.toString('utf8') !== chunkKey(version, kind, pieces.length)) damaged(`chunk ${pieces.length} of ${kind} ${version} is missing`);
      pieces.push(kv.value);
    }
    const bytes = Buffer.concat(pieces);
    if (pieces.length !== ref.chunks || bytes.length !== ref.bytes) damaged(`${kind} ${version} has ${pieces.length} of ${ref.chunks} chunks, ${bytes.length} of ${ref.bytes} bytes`);
    return bytes;
  }

  /** The keys in `range` as of `revision`, in key order, a page at a time. */
  private async *scan(range: Range, revision: string): AsyncGenerator<IKeyValue> {
    let start = range.start;
    for (;;) {
      const page = await this.namespace.getAll().inRange({ start, end: range.end }).revision(revision).limit(this.pageKeysMax).exec();
      for (const kv of page.kvs) yield kv;
      const last = page.kvs[page.kvs.length - 1];
      if (!page.more || last === undefined) return;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  private fail(what: string, error: unknown): StarlaneError {
    this.failure = error instanceof StarlaneError ? error : etcdFailure(`${what} the metadata`, error);
    return this.failure;
  }
}
