import { v1 } from '@starlane/proto';
import { FakeMetadata, FakeTransport, image, node, settle, topic } from '../fakes';
import type { ControllerClient } from '../controller/controller-client';
import { AdminForwarder } from './admin-forwarder';

/** A controller the test scripts: every call is recorded; `versionNow` is what DescribeCluster says. */
function fakeController() {
  const calls: string[] = [];
  const controller = {
    versionNow: 0,
    calls,
    admin: <Res>(method: string): Promise<Res> => {
      calls.push(method);
      if (method === 'alterTopicConfigs') return Promise.resolve({ results: [{ topic: 't', errorCode: v1.ErrorCode.NONE, errorMessage: '' }] } as Res);
      return Promise.reject(new Error(`${method} was not expected`));
    },
    metadataVersion: (): Promise<number> => {
      calls.push('metadataVersion');
      return Promise.resolve(controller.versionNow);
    },
    watchReassignments: (): Promise<void> => Promise.resolve(),
  };
  return controller;
}

function forwarder(metadata: FakeMetadata, controller: ReturnType<typeof fakeController>): AdminForwarder {
  return new AdminForwarder({ controller: controller as unknown as Pick<ControllerClient, 'admin' | 'watchReassignments' | 'metadataVersion'>, metadata, offsets: { metadata, transport: new FakeTransport(), now: metadata.now }, now: metadata.now });
}

describe('AdminForwarder metadata reads', () => {
  it('describes and lists topics from the gateway image without asking the controller', async () => {
    const metadata = new FakeMetadata(image(7, [node(1), node(2)], [topic('t', [1, 2], { configs: { 'retention.ms': '1000' } })]));
    const controller = fakeController();
    const admin = forwarder(metadata, controller);
    const described = await admin.describeTopics({ topics: ['t', 'missing'], topicIds: [], includeConfigs: true });
    expect(described.topics.map((description) => [description.name, description.errorCode, description.partitions.map((partition) => partition.leaderId)])).toEqual([
      ['t', v1.ErrorCode.NONE, [1, 2]],
      ['missing', v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
    ]);
    expect(described.topics[0]!.configs['retention.ms']).toEqual({ value: '1000', source: v1.ConfigSource.TOPIC });
    const listed = await admin.listTopics({ includeInternal: false, pageSize: 0, pageToken: '' });
    expect(listed.topics.map((listing) => [listing.name, listing.partitionCount])).toEqual([['t', 2]]);
    expect(controller.calls).toEqual([]);
  });

  it('refuses metadata reads with LEADER_NOT_AVAILABLE while the gateway has no metadata, rather than answering from an empty image', async () => {
    const metadata = new FakeMetadata();
    const admin = forwarder(metadata, fakeController());
    await expect(admin.describeTopics({ topics: ['t'], topicIds: [], includeConfigs: false })).rejects.toMatchObject({ code: 'LEADER_NOT_AVAILABLE', message: expect.stringContaining('no cluster metadata yet') });
    await expect(admin.listTopics({ includeInternal: false, pageSize: 0, pageToken: '' })).rejects.toMatchObject({ code: 'LEADER_NOT_AVAILABLE' });
  });

  it('answers AlterTopicConfigs once its own metadata is as new as the controller after the change', async () => {
    const metadata = new FakeMetadata(image(7, [node(1)], [topic('t', [1])]));
    const controller = fakeController();
    controller.versionNow = 9;
    let answered = false;
    const altering = forwarder(metadata, controller)
      .alterTopicConfigs({ topics: [{ topic: 't', changes: [{ name: 'retention.ms', operation: v1.ConfigOperation.SET, value: '5' }] }], validateOnly: false })
      .then((response) => {
        answered = true;
        return response;
      });
    await settle();
    expect(controller.calls).toEqual(['alterTopicConfigs', 'metadataVersion']);
    expect(answered).toBe(false);
    metadata.publish(image(8, [node(1)], [topic('t', [1])]));
    await settle();
    expect(answered).toBe(false);
    metadata.publish(image(9, [node(1)], [topic('t', [1], { configs: { 'retention.ms': '5' } })]));
    await expect(altering).resolves.toMatchObject({ results: [{ topic: 't', errorCode: v1.ErrorCode.NONE }] });
  });
});
