import { randomUUID } from 'node:crypto';
import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StarlaneError, errorText } from '@starlane/model';

/**
 * Creates `path` if needed and proves it can hold durable data: a probe file is written,
 * fsynced and removed. Checking write permission bits is not enough (root ignores them, and a
 * read-only mount or a full disk only shows when writing), so we really write.
 */
export async function ensureWritableDirectory(path: string, purpose: string): Promise<string> {
  const absolute = resolve(path);
  const probe = join(absolute, `.write-probe-${process.pid}-${randomUUID()}`);
  try {
    await makeDirectories(absolute);
    const handle = await open(probe, 'wx');
    try {
      await handle.writeFile('probe');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await unlink(probe);
  } catch (error) {
    throw new StarlaneError('CONFIG_INVALID', `${purpose} ${absolute} is not writable (${errorText(error)})`, { cause: error });
  }
  return absolute;
}

/**
 * `mkdir -p` one level at a time. Node 20's `mkdir(path, { recursive: true })` spins forever
 * on some failures (e.g. below /proc), so it must not meet operator input.
 */
async function makeDirectories(absolute: string): Promise<void> {
  const missing: string[] = [];
  let current = absolute;
  for (;;) {
    try {
      const found = await stat(current);
      if (!found.isDirectory()) throw Object.assign(new Error(`not a directory, ${current}`), { code: 'ENOTDIR' });
      break;
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
      missing.push(current);
      const parent = dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
  for (const path of missing.reverse()) {
    try {
      await mkdir(path);
    } catch (error) {
      // Another process may create the same directory at the same moment; that is fine.
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
  }
}

/** The errno name of a Node system error (`ENOENT`, ...). Duck-typed: errors raised by Node's
 * fs are not always `instanceof Error` of the caller's realm. */
function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
