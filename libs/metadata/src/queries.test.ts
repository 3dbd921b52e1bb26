import { imageFromSnapshot, type TopicState } from './image';
import { describePartitions, listTopics, lookupTopics } from './queries';

const topic = (name: string, internal = false): TopicState => ({ name, topicId: `id-${name}`, internal, partitions: [], configs: {} });
const image = imageFromSnapshot({ clusterId: 'c', version: 1, controller: undefined, nodes: [], topics: ['d', 'a', '__internal', 'c', 'b'].map((n) => topic(n, n.startsWith('__'))), clusterConfigs: {} });

describe('listTopics', () => {
  it('pages through topics in name order, without internal ones unless asked', () => {
    const names: string[] = [];
    let token = '';
    for (let pages = 0; pages < 10; pages += 1) {
      const page = listTopics(image, { includeInternal: false, pageSize: 2, pageToken: token });
      names.push(...page.topics.map((t) => t.name));
      token = page.nextPageToken;
      if (token === '') break;
    }
    expect(names).toEqual(['a', 'b', 'c', 'd']);
    expect(listTopics(image, { includeInternal: true, pageSize: 0, pageToken: '' }).topics.map((t) => t.name)).toEqual(['__internal', 'a', 'b', 'c', 'd']);
  });

  it('refuses tokens it did not issue and negative page sizes', () => {
    expect(() => listTopics(image, { includeInternal: false, pageSize: 0, pageToken: '***' })).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    expect(() => listTopics(image, { includeInternal: false, pageSize: -1, pageToken: '' })).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
  });
});

describe('lookupTopics', () => {
  it('finds topics by name and id, and says why others are not found', () => {
    expect(lookupTopics(image, ['a', 'nope', 'bad name'], ['id-b', 'id-x']).map((l) => [l.name, l.topicId, l.error?.code])).toEqual([
      ['a', 'id-a', undefined],
      ['nope', '', 'UNKNOWN_TOPIC_OR_PARTITION'],
      ['bad name', '', 'INVALID_TOPIC_EXCEPTION'],
      ['b', 'id-b', undefined],
      ['', 'id-x', 'UNKNOWN_TOPIC_ID'],
    ]);
  });
});

describe('describePartitions', () => {
  it('lists replicas on fenced or unknown nodes, or on a failed log directory, as offline', () => {
    const partition = { partition: 0, leader: 1, leaderEpoch: 0, partitionEpoch: 0, replicas: [1, 2, 3, 4], isr: [1], elr: [], offlineReplicas: [], addingReplicas: [], removingReplicas: [] };
    const withNodes = imageFromSnapshot({
      clusterId: 'c',
      version: 1,
      controller: undefined,
      nodes: [
        { nodeId: 1, host: 'h', port: 1, rack: '', state: 'active', nodeEpoch: 3, offlineLogDirIds: [] },
        { nodeId: 2, host: 'h', port: 2, rack: '', state: 'fenced', nodeEpoch: 4, offlineLogDirIds: [] },
        { nodeId: 4, host: 'h', port: 4, rack: '', state: 'active', nodeEpoch: 5, offlineLogDirIds: ['dir-4'] },
      ],
      topics: [{ ...topic('t'), partitions: [partition] }],
      clusterConfigs: {},
    });
    expect(describePartitions(withNodes, withNodes.topics.get('t') ?? topic('t')).map((p) => p.offlineReplicas)).toEqual([[2, 3, 4]]);
  });
});
