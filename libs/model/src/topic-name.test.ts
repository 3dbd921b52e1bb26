import { StarlaneError } from './errors';
import { topicNameLengthMax, validateTopicName } from './topic-name';

function codeOf(name: string): string | null {
  try {
    validateTopicName(name);
    return null;
  } catch (error) {
    return error instanceof StarlaneError ? error.code : 'not a StarlaneError';
  }
}

describe('validateTopicName', () => {
  it.each(['orders', 'a', 'Orders.v2_eu-west', '...', 'x'.repeat(topicNameLengthMax)])('accepts %s', (name) => {
    expect(codeOf(name)).toBeNull();
  });

  it.each(['', '.', '..', 'has space', 'slash/name', 'ümlaut', 'x'.repeat(topicNameLengthMax + 1)])('refuses %j', (name) => {
    expect(codeOf(name)).toBe('INVALID_TOPIC_EXCEPTION');
  });
});
