/**
 * A `LogFileSystem` wrapper that fails chosen operations, as a full or broken disk does: a test
 * says which operations on which paths fail and with which errno (ENOSPC, EIO, ...), and every
 * matching call from then on is refused with the error `NodeFileSystem` raises for it
 * (STORAGE_UNAVAILABLE carrying the errno), until the test heals the disk. The files stay as the
 * wrapped filesystem has them: a refused write writes nothing.
 */
import type { LogFile, LogFileSystem } from '@starlane/io-ports';
import { StarlaneError } from '@starlane/model';

/** The filesystem operations a fault can target; file operations carry the file's path. */
export type FileOperation =
  | 'makeDirectory'
  | 'list'
  | 'open'
  | 'readFile'
  | 'writeFileAtomic'
  | 'exists'
  | 'remove'
  | 'rename'
  | 'syncDirectory'
  | 'size'
  | 'read'
  | 'write'
  | 'sync'
  | 'truncate'
  | 'close';

/** Which calls fail: the operation and the path it acts on. */
export type FaultMatcher = (operation: FileOperation, path: string) => boolean;

export class FaultyFileSystem implements LogFileSystem {
  private fault: { readonly matches: FaultMatcher; readonly errno: string } | undefined;
  private injectedCount = 0;

  constructor(private readonly inner: LogFileSystem) {}

  /** From now on, calls that `matches` selects fail with `errno` (until `heal`). */
  failWhen(matches: FaultMatcher, errno = 'EIO'): void {
    this.fault = { matches, errno };
  }

  /** Calls succeed again. */
  heal(): void {
    this.fault = undefined;
  }

  /** How many calls were refused so far. */
  get injected(): number {
    return this.injectedCount;
  }

  makeDirectory(path: string): Promise<void> {
    return this.guard('makeDirectory', path, () => this.inner.makeDirectory(path));
  }

  list(directory: string): Promise<string[]> {
    return this.guard('list', directory, () => this.inner.list(directory));
  }

  async open(path: string, options: { create: boolean }): Promise<LogFile> {
    const file = await this.guard('open', path, () => this.inner.open(path, options));
    return this.wrapFile(file, path);
  }

  readFile(path: string): Promise<Buffer | null> {
    return this.guard('readFile', path, () => this.inner.readFile(path));
  }

  writeFileAtomic(path: string, data: Buffer): Promise<void> {
    return this.guard('writeFileAtomic', path, () => this.inner.writeFileAtomic(path, data));
  }

  exists(path: string): Promise<boolean> {
    return this.guard('exists', path, () => this.inner.exists(path));
  }

  remove(path: string): Promise<void> {
    return this.guard('remove', path, () => this.inner.remove(path));
  }

  rename(from: string, to: string): Promise<void> {
    return this.guard('rename', from, () => this.guard('rename', to, () => this.inner.rename(from, to)));
  }

  syncDirectory(directory: string): Promise<void> {
    return this.guard('syncDirectory', directory, () => this.inner.syncDirectory(directory));
  }

  private wrapFile(file: LogFile, path: string): LogFile {
    return {
      size: () => this.guard('size', path, () => file.size()),
      read: (buffer, bufferOffset, length, position) => this.guard('read', path, () => file.read(buffer, bufferOffset, length, position)),
      write: (buffers, position) => this.guard('write', path, () => file.write(buffers, position)),
      sync: () => this.guard('sync', path, () => file.sync()),
      truncate: (size) => this.guard('truncate', path, () => file.truncate(size)),
      close: () => this.guard('close', path, () => file.close()),
    };
  }

  private async guard<T>(operation: FileOperation, path: string, action: () => Promise<T>): Promise<T> {
    const fault = this.fault;
    if (fault !== undefined && fault.matches(operation, path)) {
      this.injectedCount += 1;
      throw new StarlaneError('STORAGE_UNAVAILABLE', `${operation} ${path}: ${fault.errno} injected fault`);
    }
    return action();
  }
}
