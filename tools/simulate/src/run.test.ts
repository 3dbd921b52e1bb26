import { summaryLine } from './run';

describe('simulate summary', () => {
  it('names seeds, failures, faults, lost messages and simulated time', () => {
    expect(summaryLine({ seeds: 1000, failed: [], faults: 15_234, messagesLost: 40_000, simulatedMs: 9_000_000, wallMs: 61_500 })).toBe(
      '1000 seeds, 0 failed; 15234 faults injected, 40000 messages lost; 2.50 h simulated in 61.5 s',
    );
  });
});
