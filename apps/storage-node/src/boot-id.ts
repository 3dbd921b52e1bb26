/**
 * The boot id port of the storage node (`BootIdReader` of @starlane/replica): Linux draws a new
 * random UUID at every boot. Elsewhere, or when the file cannot be read, the boot is unknown,
 * which counts as another boot (the conservative answer: after an unclean stop the node then
 * reports that unflushed writes may be lost).
 */
import { readFile } from 'node:fs/promises';

export const bootIdPath = '/proc/sys/kernel/random/boot_id';
/** A UUID and a newline; anything longer is not a boot id. */
export const bootIdBytesMax = 64;

export async function readLinuxBootId(path = bootIdPath): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const bootId = text.trim();
  return bootId === '' || bootId.length > bootIdBytesMax ? undefined : bootId;
}
