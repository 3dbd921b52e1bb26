import { defaultLogConfig, logConfigNames, parseLogConfig } from '@starlane/log';
import { imageFromSnapshot, type TopicState } from './image';
import { describeTopicConfigs, topicConfigDefaults, topicConfigNames, validateTopicConfigs } from './topic-configs';

describe('topic configs', () => {
  it('has a valid built-in default for every accepted name, equal to the log defaults', () => {
    for (const name of logConfigNames) expect(topicConfigNames).toContain(name);
    expect(() => validateTopicConfigs(topicConfigDefaults)).not.toThrow();
    const logDefaults = Object.fromEntries(logConfigNames.map((name) => [name, topicConfigDefaults[name] ?? '']));
    expect(parseLogConfig(logDefaults)).toEqual(defaultLogConfig);
  });

  it('names the setting at fault', () => {
    expect(() => validateTopicConfigs({ 'retention.ms': '-5' })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(/retention.ms/) }));
    expect(() => validateTopicConfigs({ 'message.timestamp.type': 'Whenever' })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => validateTopicConfigs({ 'unclean.leader.election.enable': 'yes' })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });

  it('describes each config with its source: topic override, cluster default, built-in default', () => {
    const topic: TopicState = { name: 't', topicId: 'id', internal: false, partitions: [], configs: { 'retention.ms': '5' } };
    const image = imageFromSnapshot({ clusterId: 'c', version: 1, controller: undefined, nodes: [], topics: [topic], clusterConfigs: { 'segment.bytes': '1048576', 'num.partitions': '3' } });
    const described = describeTopicConfigs(image, topic);
    expect(described.get('retention.ms')).toEqual({ value: '5', source: 'topic' });
    expect(described.get('segment.bytes')).toEqual({ value: '1048576', source: 'cluster' });
    expect(described.get('cleanup.policy')).toEqual({ value: 'delete', source: 'default' });
    // Cluster settings that are not topic configs are not listed.
    expect(described.has('num.partitions')).toBe(false);
    expect([...described.keys()]).toEqual(topicConfigNames);
  });
});
