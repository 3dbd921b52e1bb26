/**
 * The embedded metadata store: one directory holding
 *
 *   metadata.snapshot  the records that recreate the state at some version, written atomically
 *                      (temporary file, fsync, rename, directory fsync);
 *   metadata.journal   the batches after that version, appended and fsynced one at a time.
 *
 * Both hold frames: [payload length u32][CRC-32C of payload u32][payload], big-endian, the
 * payload a JSON document (one batch per journal frame). Every `snapshotIntervalRecords`
 * journalled records the store writes a new snapshot and starts the journal over.
 *
 * Recovery loads the snapshot and replays journal frames while they are whole, pass their CRC,
 * parse, and follow on from the version before; the first one that does not (a write torn by a
 * crash, or damage) ends the journal, and the file is truncated there so new batches never
 * follow garbage. A batch that was acknowledged was fsynced first, so it is never in the cut
 * tail. Frames already covered by the snapshot (a crash between writing a snapshot and
 * starting the journal over) are skipped.
 */
import { joinPath, type LogFile, type LogFileSystem } from '@starlane/io-ports';
import { StarlaneError } from '@starlane/model';
import { crc32c } from '@starlane/record-batch';
import type { MetadataSnapshot } from './controller-state';
import { batchFromJson, batchToJson, recordFromJson, recordToJson, type MetadataBatch } from './records';
import type { LoadedMetadata, MetadataStore } from './store';

export const snapshotFileName = 'metadata.snapshot';
export const journalFileName = 'metadata.journal';
/** Bytes before a frame's payload: length and CRC. */
export const frameHeaderBytes = 8;
/** Largest frame payload; a length above it can only be damage. */
export const frameBytesMax = 256 * 1024 * 1024;
/** Journalled records between snapshots, by default. */
export const snapshotIntervalRecordsDefault = 10_000;
const snapshotFormatVersion = 1;

export function encodeFrame(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  if (payload.length > frameBytesMax) throw new StarlaneError('STORAGE_UNAVAILABLE', `metadata frame of ${payload.length} bytes exceeds ${frameBytesMax}`);
  const header = Buffer.alloc(frameHeaderBytes);
  header.writeUInt32BE(payload.length, 0);
  header.writeUInt32BE(crc32c(payload), 4);
  return Buffer.concat([header, payload]);
}

/** The JSON value of the frame at `position`, or undefined if it is torn or damaged. */
function decodeFrame(bytes: Buffer, position: number): { value: unknown; end: number } | undefined {
  if (position + frameHeaderBytes > bytes.length) return undefined;
  const length = bytes.readUInt32BE(position);
  const end = position + frameHeaderBytes + length;
  if (length > frameBytesMax || end > bytes.length) return undefined;
  const payload = bytes.subarray(position + frameHeaderBytes, end);
  if (crc32c(payload) !== bytes.readUInt32BE(position + 4)) return undefined;
  try {
    return { value: JSON.parse(payload.toString('utf8')) as unknown, end };
  } catch {
    return undefined;
  }
}

export interface FileMetadataStoreOptions {
  readonly fs: LogFileSystem;
  readonly directory: string;
  readonly snapshotIntervalRecords?: number;
}

/** What recovery found, for the controller's log. */
export interface FileStoreRecovery {
  readonly snapshotVersion: number;
  readonly journalBatches: number;
  /** Bytes cut from the journal's end (a torn or damaged tail); 0 after a clean stop. */
  readonly truncatedBytes: number;
}

export class FileMetadataStore implements MetadataStore {
  private journal: LogFile | undefined;
  private journalEnd = 0;
  private version = 0;
  private recordsSinceSnapshot = 0;
  private failure: StarlaneError | undefined;
  private recoveryReport: FileStoreRecovery | undefined;
  private readonly snapshotIntervalRecords: number;

  constructor(private readonly options: FileMetadataStoreOptions) {
    this.snapshotIntervalRecords = options.snapshotIntervalRecords ?? snapshotIntervalRecordsDefault;
  }

  private get snapshotPath(): string {
    return joinPath(this.options.directory, snapshotFileName);
  }

  private get journalPath(): string {
    return joinPath(this.options.directory, journalFileName);
  }

  /** What the last load found. */
  get recovery(): FileStoreRecovery | undefined {
    return this.recoveryReport;
  }

  async load(): Promise<LoadedMetadata> {
    const { fs, directory } = this.options;
    await fs.makeDirectory(directory);
    const snapshot = await this.readSnapshot();
    this.version = snapshot?.version ?? 0;

    this.journal = await fs.open(this.journalPath, { create: true });
    // The journal's directory entry must be durable before anything in it is acknowledged:
    // without this a fresh store could lose the whole journal to a power cut.
    await fs.syncDirectory(directory);
    const size = await this.journal.size();
    const bytes = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = await this.journal.read(bytes, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    const batches: MetadataBatch[] = [];
    let position = 0;
    while (position < read) {
      const frame = decodeFrame(bytes, position);
      if (frame === undefined) break;
      let batch: MetadataBatch;
      try {
        batch = batchFromJson(frame.value);
      } catch {
        break;
      }
      if (batch.version <= this.version) {
        // Already in the snapshot.
        position = frame.end;
        continue;
      }
      if (batch.baseVersion !== this.version) {
        // A whole, valid frame that does not follow on means state is missing (a lost
        // snapshot, a partial restore), not a torn tail: refuse to start rather than cut the
        // journal and come up as an empty, different cluster.
        throw new StarlaneError(
          'STORAGE_UNAVAILABLE',
          `${this.journalPath}: a journal batch applies to version ${batch.baseVersion} but the state recovered so far is at ${this.version}; the metadata is incomplete (missing snapshot?)`,
        );
      }
      batches.push(batch);
      this.version = batch.version;
      this.recordsSinceSnapshot += batch.records.length;
      position = frame.end;
    }
    if (position < size) {
      await this.journal.truncate(position);
      await this.journal.sync();
    }
    this.journalEnd = position;
    this.recoveryReport = { snapshotVersion: snapshot?.version ?? 0, journalBatches: batches.length, truncatedBytes: size - position };
    return { snapshot, batches };
  }

  private async readSnapshot(): Promise<MetadataSnapshot | undefined> {
    const bytes = await this.options.fs.readFile(this.snapshotPath);
    if (bytes === null) return undefined;
    // Snapshots are replaced atomically, so a damaged one is not a torn write but lost data:
    // refuse to start rather than start from nothing.
    const frame = decodeFrame(bytes, 0);
    const damaged = (why: string): never => {
      throw new StarlaneError('STORAGE_UNAVAILABLE', `${this.snapshotPath} is damaged (${why}); restore the metadata directory from a backup`);
    };
    if (frame === undefined || frame.end !== bytes.length) return damaged('bad frame or checksum');
    const json = frame.value as { formatVersion?: unknown; version?: unknown; records?: unknown };
    if (json.formatVersion !== snapshotFormatVersion) return damaged(`format ${String(json.formatVersion)} is not ${snapshotFormatVersion}`);
    if (typeof json.version !== 'number' || !Number.isSafeInteger(json.version) || json.version < 0 || !Array.isArray(json.records)) return damaged('malformed');
    try {
      return { version: json.version, records: json.records.map(recordFromJson) };
    } catch (error) {
      return damaged(error instanceof Error ? error.message : String(error));
    }
  }

  async append(batch: MetadataBatch, snapshot: () => MetadataSnapshot): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const journal = this.journal;
    if (journal === undefined) throw new StarlaneError('STORAGE_UNAVAILABLE', 'metadata store used before load');
    if (batch.baseVersion !== this.version) throw new StarlaneError('NOT_CONTROLLER', `metadata store is at version ${this.version}, not ${batch.baseVersion}`);
    const frame = encodeFrame(batchToJson(batch));
    try {
      await journal.write([frame], this.journalEnd);
      await journal.sync();
    } catch (error) {
      throw this.fail('append to', error);
    }
    this.journalEnd += frame.length;
    this.version = batch.version;
    this.recordsSinceSnapshot += batch.records.length;
    if (this.recordsSinceSnapshot >= this.snapshotIntervalRecords) {
      // The batch is durable whatever happens here; a failed snapshot only stops later appends.
      try {
        await this.writeSnapshot(journal, snapshot());
      } catch (error) {
        this.fail('snapshot', error);
      }
    }
  }

  private async writeSnapshot(journal: LogFile, snapshot: MetadataSnapshot): Promise<void> {
    await this.options.fs.writeFileAtomic(this.snapshotPath, encodeFrame({ formatVersion: snapshotFormatVersion, version: snapshot.version, records: snapshot.records.map(recordToJson) }));
    // Only once the snapshot is durable may the journal it covers go.
    await journal.truncate(0);
    await journal.sync();
    this.journalEnd = 0;
    this.recordsSinceSnapshot = 0;
  }

  private fail(what: string, error: unknown): StarlaneError {
    const reason = error instanceof Error ? error.message : String(error);
    this.failure = new StarlaneError('STORAGE_UNAVAILABLE', `cannot ${what} the metadata journal in ${this.options.directory}: ${reason}`, { cause: error });
    return this.failure;
  }

  async close(): Promise<void> {
    const journal = this.journal;
    this.journal = undefined;
    this.failure ??= new StarlaneError('STORAGE_UNAVAILABLE', 'metadata store is closed');
    await journal?.close();
  }
}
