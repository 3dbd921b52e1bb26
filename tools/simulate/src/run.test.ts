import { summaryLine } from './run';

describe('simulate summary', () => {
  it('names seeds, failures, every fault by kind and where the message faults came from, and simulated time', () => {
    const summary = {
      seeds: 1000,
      failed: [],
      faults: 15_234,
      scheduledFaults: 3_234,
      faultsByKind: new Map([
        ['node-crash', 3_000],
        ['loss-burst', 234],
      ] as const),
      messageFaults: 12_000,
      lostInBursts: 7_000,
      lostToCuts: 4_000,
      streamBreaksWithoutLoss: 1_000,
      answersLostAfterHandling: 300,
      simulatedMs: 9_000_000,
      wallMs: 61_500,
    };
    expect(summaryLine(summary).split('\n')).toEqual([
      '1000 seeds, 0 failed; 15234 faults injected in 2.50 h simulated, 61.5 s',
      '  3234 scheduled: 3000 node-crash, 234 loss-burst',
      '  12000 message faults: 7000 messages lost in loss bursts, 4000 lost to partitions and down hosts, 1000 streams broken without a loss (300 of the lost messages were answers to requests the server had run)',
    ]);
  });
});
