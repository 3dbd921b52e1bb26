/**
 * The filesystem port: what the partition log and the metadata file store need from a disk.
 * Code written against it never touches `fs` itself, so the same code runs on disk
 * (`NodeFileSystem` in libs/node-io), in memory (`MemoryFileSystem`), and under seeded
 * simulation with crashes injected.
 */

/** An open file. Positions and sizes are bytes; a segment never exceeds 2^31 bytes. */
export interface LogFile {
  size(): Promise<number>;
  /** Reads up to `length` bytes at `position` into `buffer` at `bufferOffset`; returns bytes read. */
  read(buffer: Buffer, bufferOffset: number, length: number, position: number): Promise<number>;
  /** Writes `buffers` back to back at `position` (one gathered write). */
  write(buffers: readonly Buffer[], position: number): Promise<void>;
  /** Makes written data durable (fdatasync). */
  sync(): Promise<void>;
  truncate(size: number): Promise<void>;
  close(): Promise<void>;
}

export interface LogFileSystem {
  /** Creates the directory and its parents. */
  makeDirectory(path: string): Promise<void>;
  /** Names (not paths) of the entries of a directory. */
  list(directory: string): Promise<string[]>;
  /** Opens a file for reading and writing, creating it when `create` is set. */
  open(path: string, options: { create: boolean }): Promise<LogFile>;
  /** The whole file, or null if it does not exist. */
  readFile(path: string): Promise<Buffer | null>;
  /** Replaces the file atomically and durably: temporary file, fsync, rename, directory fsync. */
  writeFileAtomic(path: string, data: Buffer): Promise<void>;
  exists(path: string): Promise<boolean>;
  remove(path: string): Promise<void>;
  /** Atomic rename, replacing `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  /** Makes the directory's entries (creations, renames, removals) durable. */
  syncDirectory(directory: string): Promise<void>;
}

/** Joins path segments with '/', the only separator the ports use. */
export function joinPath(...parts: string[]): string {
  return parts.join('/').replace(/\/+/g, '/');
}
