import { statusEqual } from './conditions';
import type { TopicStatus } from './topic-resource';

const ready = { type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00.000Z' } as const;
const paused = { type: 'ReconciliationPaused', status: 'True', reason: 'ReconciliationPaused', message: 'paused', lastTransitionTime: '2026-01-01T00:00:00.000Z' } as const;

describe('statusEqual', () => {
  it('ignores key order', () => {
    expect(statusEqual({ topicName: 'a', partitions: 1 }, { partitions: 1, topicName: 'a' })).toBe(true);
  });

  it('ignores the order of the unordered lists a server-side apply may store in another order', () => {
    const written: TopicStatus = { managedConfigKeys: ['cleanup.policy', 'retention.ms'], conditions: [paused, ready] };
    const stored: TopicStatus = { managedConfigKeys: ['retention.ms', 'cleanup.policy'], conditions: [ready, paused] };
    expect(statusEqual(written, stored)).toBe(true);
  });

  it('takes an empty set for no set', () => {
    expect(statusEqual({ managedConfigKeys: [] }, {})).toBe(true);
  });

  it('sees a changed value, a missing key or a different member', () => {
    expect(statusEqual({ partitions: 1 }, { partitions: 2 })).toBe(false);
    expect(statusEqual({ partitions: 1, topicId: 'x' }, { partitions: 1 })).toBe(false);
    expect(statusEqual({ managedConfigKeys: ['a'] }, { managedConfigKeys: ['b'] })).toBe(false);
    expect(statusEqual({ conditions: [ready] }, { conditions: [{ ...ready, reason: 'Updating' }] })).toBe(false);
  });
});
