/**
 * The cluster id: fixed when a cluster is first formed and never changed, so a node or a client
 * can tell one cluster from another (Kafka's `cluster.id`, a base64url UUID of 22 characters).
 * It lives in `cluster.json` in the controller's metadata directory.
 */
import { randomUUID } from 'node:crypto';
import { joinPath, type LogFileSystem } from '@starlane/log';
import { StarlaneError } from '@starlane/model';

export const clusterFileName = 'cluster.json';
const formatVersion = 1;
const clusterIdPattern = /^[A-Za-z0-9_-]{22}$/;

/** A new cluster id: 16 random bytes of a UUID, base64url without padding, as Kafka makes them. */
export function newClusterId(): string {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
}

/** Reads the cluster id from `directory`, creating it on the first start. */
export async function loadOrCreateClusterId(fs: LogFileSystem, directory: string, makeId: () => string = newClusterId): Promise<string> {
  const path = joinPath(directory, clusterFileName);
  const bytes = await fs.readFile(path);
  if (bytes !== null) return parseClusterFile(path, bytes.toString('utf8'));
  const clusterId = makeId();
  // Atomic and durable: a crash leaves either no file or the whole one, never a torn one.
  await fs.writeFileAtomic(path, Buffer.from(`${JSON.stringify({ formatVersion, clusterId }, null, 2)}\n`));
  return clusterId;
}

function parseClusterFile(path: string, text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new StarlaneError('STORAGE_UNAVAILABLE', `${path} is not valid JSON; restore it from a backup or remove it to form a new cluster`);
  }
  const record = parsed as { formatVersion?: unknown; clusterId?: unknown };
  if (record.formatVersion !== formatVersion || typeof record.clusterId !== 'string' || !clusterIdPattern.test(record.clusterId)) {
    throw new StarlaneError('STORAGE_UNAVAILABLE', `${path} does not hold a format ${formatVersion} cluster id`);
  }
  return record.clusterId;
}
