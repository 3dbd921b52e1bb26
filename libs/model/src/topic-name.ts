import { StarlaneError } from './errors';

/** Kafka's limit: topic names become directory names, so they must fit a file name with room
 * for the partition suffix. */
export const topicNameLengthMax = 249;

const legalTopicName = /^[a-zA-Z0-9._-]+$/;

/**
 * Validates a topic name exactly as Kafka does: `[a-zA-Z0-9._-]`, 1..249 characters, and not
 * `.` or `..` (they would name the parent directory on disk).
 */
export function validateTopicName(name: string): void {
  const fail = (why: string): never => {
    throw new StarlaneError('INVALID_TOPIC_EXCEPTION', `invalid topic name ${JSON.stringify(name)}: ${why}`);
  };
  if (name.length === 0) fail('it is empty');
  if (name === '.' || name === '..') fail('"." and ".." are reserved');
  if (name.length > topicNameLengthMax) fail(`it is ${name.length} characters, the maximum is ${topicNameLengthMax}`);
  if (!legalTopicName.test(name)) fail('only ASCII letters, digits, ".", "_" and "-" are allowed');
}
