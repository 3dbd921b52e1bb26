/**
 * An in-memory LogFileSystem that remembers what was synced, so a test can crash it: `crash()`
 * throws away every byte written since the file's last sync (keeping, if asked, a random
 * prefix of it, as a torn write would). Runs the log without a disk and lets seeded simulation
 * explore crashes deterministically.
 *
 * Simplification, on purpose: directory operations (create, rename, remove) are durable at
 * once; only file contents can be lost.
 */
import { StarlaneError } from '@starlane/model';
import type { LogFile, LogFileSystem } from './file-system';

interface StoredFile {
  data: Buffer;
  length: number;
  /** Content as of the last sync. */
  durable: Buffer;
}

function notFound(path: string): StarlaneError {
  return new StarlaneError('STORAGE_UNAVAILABLE', `ENOENT: no such file: ${path}`);
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

export class MemoryFileSystem implements LogFileSystem {
  private readonly files = new Map<string, StoredFile>();
  private readonly directories = new Set<string>(['/']);
  /** Bumped by crash(): handles opened before a crash stop working, as after a reboot. */
  private generation = 0;

  async makeDirectory(path: string): Promise<void> {
    for (let current = path; current !== '/' && current !== ''; current = parentOf(current)) this.directories.add(current);
  }

  async list(directory: string): Promise<string[]> {
    if (!this.directories.has(directory)) throw notFound(directory);
    const prefix = directory.endsWith('/') ? directory : `${directory}/`;
    const names = new Set<string>();
    for (const path of [...this.files.keys(), ...this.directories]) {
      if (path.startsWith(prefix) && path.length > prefix.length && !path.slice(prefix.length).includes('/')) names.add(path.slice(prefix.length));
    }
    return [...names].sort();
  }

  async open(path: string, options: { create: boolean }): Promise<LogFile> {
    if (!this.directories.has(parentOf(path))) throw notFound(parentOf(path));
    let file = this.files.get(path);
    if (file === undefined) {
      if (!options.create) throw notFound(path);
      file = { data: Buffer.alloc(0), length: 0, durable: Buffer.alloc(0) };
      this.files.set(path, file);
    }
    return this.handle(path);
  }

  async readFile(path: string): Promise<Buffer | null> {
    const file = this.files.get(path);
    return file === undefined ? null : Buffer.from(file.data.subarray(0, file.length));
  }

  async writeFileAtomic(path: string, data: Buffer): Promise<void> {
    if (!this.directories.has(parentOf(path))) throw notFound(parentOf(path));
    this.files.set(path, { data: Buffer.from(data), length: data.length, durable: Buffer.from(data) });
  }

  async exists(path: string): Promise<boolean> {
    return this.files.has(path) || this.directories.has(path);
  }

  async remove(path: string): Promise<void> {
    if (!this.files.delete(path)) throw notFound(path);
  }

  async rename(from: string, to: string): Promise<void> {
    const file = this.files.get(from);
    if (file === undefined) throw notFound(from);
    this.files.delete(from);
    this.files.set(to, file);
  }

  /** Removes a directory and everything under it, as `rm -r` does (durable at once, like every directory operation here). */
  async removeTree(path: string): Promise<void> {
    const prefix = path.endsWith('/') ? path : `${path}/`;
    for (const file of [...this.files.keys()]) if (file === path || file.startsWith(prefix)) this.files.delete(file);
    for (const directory of [...this.directories]) if (directory !== '/' && (directory === path || directory.startsWith(prefix))) this.directories.delete(directory);
  }

  async syncDirectory(directory: string): Promise<void> {
    if (!this.directories.has(directory)) throw notFound(directory);
  }

  /**
   * Simulates a power loss: every file reverts to its last synced content. With `tornBytes`,
   * a file keeps that many bytes (at most) of what was written after its last sync, which is
   * how a torn append looks.
   */
  crash(tornBytes: (path: string, unsyncedBytes: number) => number = () => 0): void {
    this.generation++;
    for (const [path, file] of this.files) {
      const durableLength = file.durable.length;
      const unsynced = Math.max(0, file.length - durableLength);
      const kept = Math.min(unsynced, Math.max(0, tornBytes(path, unsynced)));
      const survivor = Buffer.concat([file.durable, file.data.subarray(durableLength, durableLength + kept)]);
      this.files.set(path, { data: survivor, length: survivor.length, durable: Buffer.from(survivor) });
    }
  }

  /** Direct access for tests that damage files (flip bytes, chop tails). */
  rawFile(path: string): Buffer | null {
    const file = this.files.get(path);
    return file === undefined ? null : file.data.subarray(0, file.length);
  }

  private handle(path: string): LogFile {
    const generation = this.generation;
    const live = (): StoredFile => {
      const file = this.files.get(path);
      if (generation !== this.generation || file === undefined) throw new StarlaneError('STORAGE_UNAVAILABLE', `EBADF: ${path} was closed by a crash`);
      return file;
    };
    return {
      size: async () => live().length,
      read: async (buffer, bufferOffset, length, position) => {
        const file = live();
        const end = Math.min(file.length, position + length);
        if (end <= position) return 0;
        return file.data.copy(buffer, bufferOffset, position, end);
      },
      write: async (buffers, position) => {
        const file = live();
        const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
        const end = position + total;
        if (end > file.data.length) {
          const grown = Buffer.alloc(Math.max(end, file.data.length * 2));
          file.data.copy(grown, 0, 0, file.length);
          file.data = grown;
        }
        if (position > file.length) file.data.fill(0, file.length, position);
        let cursor = position;
        for (const buffer of buffers) cursor += buffer.copy(file.data, cursor);
        file.length = Math.max(file.length, end);
      },
      sync: async () => {
        const file = live();
        file.durable = Buffer.from(file.data.subarray(0, file.length));
      },
      truncate: async (size) => {
        const file = live();
        if (size < file.length) file.length = size;
        else if (size > file.length) {
          await this.handle(path).write([Buffer.alloc(size - file.length)], file.length);
        }
      },
      close: async () => undefined,
    };
  }
}
