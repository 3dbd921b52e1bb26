/**
 * The log's filesystem interface on Node's `fs`. Writes are positional and gathered
 * (`pwritev`), syncs are `fdatasync`, and atomic replacement is temporary file, fsync, rename,
 * directory fsync.
 */
import { mkdir, open, readFile, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { StarlaneError, errorText } from '@starlane/model';
import type { LogFile, LogFileSystem } from '@starlane/io-ports';

function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** Node's system errors as the log's STORAGE_UNAVAILABLE, keeping the errno in the message (once). */
async function io<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new StarlaneError('STORAGE_UNAVAILABLE', `${what}: ${errorText(error)}`, { cause: error });
  }
}

/** Largest number of buffers one pwritev takes (IOV_MAX on Linux). */
const iovecsMax = 1024;

class NodeFile implements LogFile {
  constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
  ) {}

  async size(): Promise<number> {
    return io(`stat ${this.path}`, async () => (await this.handle.stat()).size);
  }

  async read(buffer: Buffer, bufferOffset: number, length: number, position: number): Promise<number> {
    return io(`read ${this.path}`, async () => {
      let total = 0;
      while (total < length) {
        const { bytesRead } = await this.handle.read(buffer, bufferOffset + total, length - total, position + total);
        if (bytesRead === 0) break;
        total += bytesRead;
      }
      return total;
    });
  }

  async write(buffers: readonly Buffer[], position: number): Promise<void> {
    await io(`write ${this.path}`, async () => {
      let pending = [...buffers];
      let at = position;
      while (pending.length > 0) {
        const slice = pending.slice(0, iovecsMax);
        const { bytesWritten } = await this.handle.writev(slice, at);
        at += bytesWritten;
        // Short writes are rare but legal: continue from where the kernel stopped.
        let skip = bytesWritten;
        while (pending.length > 0 && skip >= (pending[0]?.length ?? 0)) {
          skip -= pending[0]?.length ?? 0;
          pending.shift();
        }
        if (skip > 0 && pending[0] !== undefined) pending = [pending[0].subarray(skip), ...pending.slice(1)];
      }
    });
  }

  async sync(): Promise<void> {
    await io(`fdatasync ${this.path}`, () => this.handle.datasync());
  }

  async truncate(size: number): Promise<void> {
    await io(`truncate ${this.path}`, () => this.handle.truncate(size));
  }

  async close(): Promise<void> {
    await io(`close ${this.path}`, () => this.handle.close());
  }
}

export class NodeFileSystem implements LogFileSystem {
  async makeDirectory(path: string): Promise<void> {
    // Not mkdir({ recursive: true }): on Node 20 it can spin forever on some failures.
    await io(`mkdir ${path}`, async () => {
      const missing: string[] = [];
      for (let current = path; ; current = dirname(current)) {
        try {
          if ((await stat(current)).isDirectory()) break;
          throw Object.assign(new Error(`${current} is not a directory`), { code: 'ENOTDIR' });
        } catch (error) {
          if (errnoCode(error) !== 'ENOENT' || dirname(current) === current) throw error;
          missing.push(current);
        }
      }
      for (const directory of missing.reverse()) {
        await mkdir(directory).catch((error: unknown) => {
          if (errnoCode(error) !== 'EEXIST') throw error;
        });
        // A new directory exists durably only once its parent's entry is on disk.
        await this.syncDirectory(dirname(directory));
      }
    });
  }

  async list(directory: string): Promise<string[]> {
    return io(`list ${directory}`, async () => (await readdir(directory)).sort());
  }

  async open(path: string, options: { create: boolean }): Promise<LogFile> {
    // 'r+' never creates; 'a+' would force appends to the end, so create with 'wx' first.
    return io(`open ${path}`, async () => {
      if (options.create) {
        await open(path, 'wx').then(
          (handle) => handle.close(),
          (error: unknown) => {
            if (errnoCode(error) !== 'EEXIST') throw error;
          },
        );
      }
      return new NodeFile(await open(path, 'r+'), path);
    });
  }

  async readFile(path: string): Promise<Buffer | null> {
    try {
      return await readFile(path);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return null;
      throw new StarlaneError('STORAGE_UNAVAILABLE', `read ${path}: ${String(error)}`, { cause: error });
    }
  }

  async writeFileAtomic(path: string, data: Buffer): Promise<void> {
    // A name of its own per write: two concurrent replacements of one file must not collide.
    const temporary = `${path}.${randomUUID()}.tmp`;
    await io(`write ${path}`, async () => {
      const handle = await open(temporary, 'w');
      try {
        await handle.writeFile(data);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(temporary, path);
    });
    await this.syncDirectory(dirname(path));
  }

  async exists(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return false;
      throw new StarlaneError('STORAGE_UNAVAILABLE', `stat ${path}: ${String(error)}`, { cause: error });
    }
  }

  async remove(path: string): Promise<void> {
    await io(`unlink ${path}`, () => unlink(path));
  }

  async rename(from: string, to: string): Promise<void> {
    await io(`rename ${from}`, () => rename(from, to));
  }

  async syncDirectory(directory: string): Promise<void> {
    await io(`fsync ${directory}`, async () => {
      const handle = await open(directory, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }
}
