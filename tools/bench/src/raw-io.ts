/**
 * The raw limits the suites compare against: plain `fs` sequential writes and reads through
 * one FileHandle, with nothing of Starlane's in the path.
 */
import { open } from 'node:fs/promises';
import { nowMs, secondsSince } from './measure';

/**
 * Writes `buffer` `count` times back to back into a new file at `path`, then fdatasyncs it.
 * Returns the bytes written. Opening and closing the file are the caller's to time or not.
 */
export async function rawWrite(path: string, buffer: Buffer, count: number): Promise<{ bytes: number; seconds: number }> {
  const handle = await open(path, 'w');
  try {
    const startMs = nowMs();
    let position = 0;
    for (let i = 0; i < count; i++) {
      let written = 0;
      // A short write is legal: continue where the kernel stopped.
      while (written < buffer.length) {
        const { bytesWritten } = await handle.write(buffer, written, buffer.length - written, position + written);
        written += bytesWritten;
      }
      position += buffer.length;
    }
    await handle.datasync();
    return { bytes: position, seconds: secondsSince(startMs) };
  } finally {
    await handle.close();
  }
}

/**
 * Reads each file in `paths` from start to end in `chunkBytes` reads into one reused buffer.
 * Returns the bytes read and the seconds spent reading (opens and closes included: there are
 * only a few files).
 */
export async function rawRead(paths: readonly string[], chunkBytes: number): Promise<{ bytes: number; seconds: number }> {
  const buffer = Buffer.allocUnsafe(chunkBytes);
  const startMs = nowMs();
  let bytes = 0;
  for (const path of paths) {
    const handle = await open(path, 'r');
    try {
      let position = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, chunkBytes, position);
        if (bytesRead === 0) break;
        position += bytesRead;
      }
      bytes += position;
    } finally {
      await handle.close();
    }
  }
  return { bytes, seconds: secondsSince(startMs) };
}
