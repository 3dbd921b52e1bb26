import { v1 } from '@starlane/proto';
import { batchHeaderBytes } from '@starlane/record-batch';
import { compressionSlackBytes, requestBytesFitting } from './batch-fit';

const topicConfigs = (values: Record<string, string>): Record<string, v1.ConfigValue> =>
  Object.fromEntries(Object.entries(values).map(([name, value]) => [name, { value, source: v1.ConfigSource.TOPIC }]));

describe('requestBytesFitting', () => {
  it('keeps a request within the smaller of max.message.bytes and segment.bytes, less the batch header', () => {
    expect(requestBytesFitting(topicConfigs({ 'max.message.bytes': '1048588', 'segment.bytes': '4096' }))).toBe(4096 - batchHeaderBytes);
    expect(requestBytesFitting(topicConfigs({ 'max.message.bytes': '2000', 'segment.bytes': '1073741824' }))).toBe(2000 - batchHeaderBytes);
  });

  it('leaves room for compression framing on a compressed topic', () => {
    expect(requestBytesFitting(topicConfigs({ 'segment.bytes': '100000', 'compression.type': 'zstd' }))).toBe(100000 - batchHeaderBytes - compressionSlackBytes(100000));
    expect(requestBytesFitting(topicConfigs({ 'segment.bytes': '100000', 'compression.type': 'producer' }))).toBe(100000 - batchHeaderBytes);
  });

  it('is undefined without either limit, and at least 1 for a topic too small for any record', () => {
    expect(requestBytesFitting({})).toBeUndefined();
    expect(requestBytesFitting(topicConfigs({ 'segment.bytes': 'lots' }))).toBeUndefined();
    expect(requestBytesFitting(topicConfigs({ 'segment.bytes': '14' }))).toBe(1);
  });
});
