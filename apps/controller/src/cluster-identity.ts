/**
 * The cluster id: fixed when a cluster is first formed and never changed, so a node or a client
 * can tell one cluster from another (Kafka's `cluster.id`, a base64url UUID of 22 characters).
 * It is recorded in the metadata store; a metadata directory from before that kept it in
 * `cluster.json`, which is read once, when the store is still empty.
 */
import { randomUUID } from 'node:crypto';
import { joinPath, type LogFileSystem } from '@starlane/io-ports';
import { StarlaneError } from '@starlane/model';

export const legacyClusterFileName = 'cluster.json';
const legacyFormatVersion = 1;
const clusterIdPattern = /^[A-Za-z0-9_-]{22}$/;

/** A new cluster id: 16 random bytes of a UUID, base64url without padding, as Kafka makes them. */
export function newClusterId(): string {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
}

/**
 * The id for a store that has none: the one in a legacy `cluster.json` in `directory`, else a
 * new one. A legacy file that cannot be read is refused rather than replaced by a new cluster.
 */
export async function initialClusterId(fs: LogFileSystem, directory: string, makeId: () => string = newClusterId): Promise<string> {
  const path = joinPath(directory, legacyClusterFileName);
  const bytes = await fs.readFile(path);
  return bytes === null ? makeId() : parseLegacyClusterFile(path, bytes.toString('utf8'));
}

function parseLegacyClusterFile(path: string, text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new StarlaneError('STORAGE_UNAVAILABLE', `${path} is not valid JSON; restore it from a backup or remove it to form a new cluster`);
  }
  const record = parsed as { formatVersion?: unknown; clusterId?: unknown };
  if (record.formatVersion !== legacyFormatVersion || typeof record.clusterId !== 'string' || !clusterIdPattern.test(record.clusterId)) {
    throw new StarlaneError('STORAGE_UNAVAILABLE', `${path} does not hold a format ${legacyFormatVersion} cluster id`);
  }
  return record.clusterId;
}
