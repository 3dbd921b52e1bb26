/**
 * Names of partition directories under `<data-dir>/partitions/`.
 *
 * A partition's directory is `<topic>-<partition>.<topicId>`, e.g.
 * `orders-3.5f0c1a7e-8d1b-4b6e-9a57-0d9c2f6b1e42`. The topic id makes the name unique for the
 * life of the topic: a topic deleted and created again under the same name gets a new id, so
 * its partitions never open the old data (Kafka's topic ids exist for the same reason). The
 * topic name is there for people reading `ls`; only the id and partition identify the data,
 * and the name is cut short so the whole stays within common 255-byte file-name limits.
 */

/** Longest topic-name prefix kept in a directory name (Kafka allows names up to 249 bytes). */
export const directoryTopicNameCharsMax = 180;
/** Marker written into a directory before its files are removed, so a removal cut short by a
 * crash is finished at the next start instead of the remains being opened as a log. */
export const deletionMarkerFileName = 'partition.deleted';
/** The folder under the data directory that holds one directory per partition. */
export const partitionsFolderName = 'partitions';

/** Topic ids are UUID strings; anything else could escape the partitions folder. */
const topicIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** The key a node's maps use for one partition (topic ids are UUIDs: no ':' inside). */
export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

export function isSafeTopicId(topicId: string): boolean {
  return topicIdPattern.test(topicId);
}

export function partitionDirectoryName(topic: string, topicId: string, partition: number): string {
  // Topic names are already limited to [a-zA-Z0-9._-] by the controller; anything else is
  // replaced so a bad name cannot form a path.
  const readable = topic.slice(0, directoryTopicNameCharsMax).replace(/[^A-Za-z0-9._-]/g, '_');
  return `${readable}-${partition}.${topicId}`;
}

export interface ParsedPartitionDirectory {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
}

/** The identity a directory name carries, or null for names this node did not create. */
export function parsePartitionDirectoryName(name: string): ParsedPartitionDirectory | null {
  const match = /^(.+)-(\d{1,10})\.([A-Za-z0-9_-]{1,64})$/.exec(name);
  if (match === null) return null;
  const partition = Number(match[2]);
  if (!Number.isSafeInteger(partition) || partition > 2 ** 31 - 1) return null;
  return { topic: match[1] as string, partition, topicId: match[3] as string };
}
