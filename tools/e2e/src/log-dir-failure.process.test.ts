/**
 * A storage node whose disk fails at run time gives up its leadership (real processes: a
 * controller, three storage nodes and a gateway). The failure is made real without privileges:
 * on the replica next in line, the partition's leader-epoch checkpoint is replaced by a
 * non-empty directory, so the atomic rewrite a new leader makes of it fails (rename: EISDIR).
 * The leader stops cleanly, that replica takes over and its log fails; it reports its data
 * directory offline, the controller moves the leadership to the third replica, and writes go
 * on there instead of failing with KAFKA_STORAGE_ERROR until a restart.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { v1 } from '@starlane/proto';
import type { TestCluster } from '@starlane/testing';
import type { PublicClients } from './clients';
import { quickFailureSettings, startWithClients, stopWithClients } from './test-cluster';
import { createTopic, produceKeyed, readPartition, sameKeyRecords as records } from './workload';

jest.setTimeout(120_000);

let cluster: TestCluster;
let clients: PublicClients;

beforeAll(async () => {
  ({ cluster, clients } = await startWithClients({ storageNodes: 3, ...quickFailureSettings }));
});

afterAll(() => stopWithClients({ cluster, clients }));

it('moves the leadership of a node whose log fails to another in-sync replica, and writes go on', async () => {
  const topic = 'disk';
  const created = await createTopic(clients, topic, 1, {}, 3);
  const before = await cluster.waitForLeaders(topic);
  const first = before.topics.get(topic)?.partitions[0];
  const leader = first?.leader ?? -1;
  // The controller hands a stopping leader's partitions to the first other in-sync replica in order.
  const victim = first?.replicas.find((id) => id !== leader) ?? -1;
  const survivor = first?.replicas.find((id) => id !== leader && id !== victim) ?? -1;
  await produceKeyed(clients, topic, records(0, 20), { recordsPerRequest: 10, inflightMax: 2, acks: v1.Acks.ALL });

  // Every replica has the first epoch's records, and its checkpoint; break the victim's.
  const checkpoint = join(cluster.dataDir, `storage-node-${victim}`, 'partitions', `${topic}-0.${created.topicId}`, 'leader-epoch-checkpoint');
  await rm(checkpoint, { force: true });
  await mkdir(checkpoint);
  await writeFile(join(checkpoint, 'blocker'), 'a directory where the checkpoint file should be');

  await cluster.kill(`storage-node-${leader}`, 'SIGTERM');
  const after = await cluster.metadata().waitFor((image) => {
    const state = image.topics.get(topic)?.partitions[0];
    return state?.leader === survivor && (image.nodes.get(victim)?.offlineLogDirIds.length ?? 0) > 0;
  }, 60_000);
  const moved = after?.topics.get(topic)?.partitions[0];
  expect(moved?.leader).toBe(survivor);
  expect(moved?.isr).not.toContain(victim);
  // The victim's node stays registered and active; its directory is offline.
  expect(after?.nodes.get(victim)).toMatchObject({ state: 'active', offlineLogDirIds: [expect.any(String)] });

  await produceKeyed(clients, topic, records(20, 10), { recordsPerRequest: 10, inflightMax: 1, acks: v1.Acks.LEADER });
  const stored = await readPartition(clients, topic, 0, { deadlineMs: 30_000 });
  expect(stored.map((record) => record.value)).toEqual(records(0, 30).map((record) => record.value));
});
