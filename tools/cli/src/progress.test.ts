import { PassThrough } from 'node:stream';
import { ProgressMeter, formatBytes, formatCount, formatProgress, formatSummary, progressDelayMs, rateWindowMs, samplesMax, startProgressLine } from './progress';
import type { CliIo } from './io';

describe('ProgressMeter', () => {
  it('averages over the run while it is shorter than the window', () => {
    const meter = new ProgressMeter(1000);
    meter.add(500, 50_000, 1500);
    meter.add(500, 50_000, 2000);
    expect(meter.snapshot(2000)).toEqual({ records: 1000, bytes: 100_000, elapsedMs: 1000, recordsPerSecond: 1000, bytesPerSecond: 100_000 });
  });

  it('follows a change of speed once the window has passed', () => {
    const meter = new ProgressMeter(0);
    let now = 0;
    // 10 s at 1,000 records/s, then 10 s at 100 records/s, adding every 100 ms.
    for (; now < 10_000; ) {
      now += 100;
      meter.add(100, 100, now);
    }
    for (; now < 20_000; ) {
      now += 100;
      meter.add(10, 10, now);
    }
    const snapshot = meter.snapshot(now);
    expect(snapshot.records).toBe(11_000);
    expect(snapshot.recordsPerSecond).toBeGreaterThan(95);
    expect(snapshot.recordsPerSecond).toBeLessThan(105);
    const totals = meter.totals(now);
    expect(totals.recordsPerSecond).toBe(550);
  });

  it('lets the rate fall while nothing arrives', () => {
    const meter = new ProgressMeter(0);
    for (let now = 250; now <= 10_000; now += 250) meter.add(250, 0, now);
    const busy = meter.snapshot(10_000).recordsPerSecond;
    const idle = meter.snapshot(10_000 + rateWindowMs).recordsPerSecond;
    expect(busy).toBeCloseTo(1000, 0);
    expect(idle).toBeLessThan(busy / 2);
  });

  it('keeps a bounded number of samples however long it runs', () => {
    const meter = new ProgressMeter(0);
    for (let now = 1; now <= 1_000_000; now += 50) meter.add(1, 1, now);
    expect((meter as unknown as { samples: unknown[] }).samples.length).toBeLessThanOrEqual(samplesMax);
  });

  it('reports zero rates at time zero rather than dividing by zero', () => {
    const meter = new ProgressMeter(5);
    expect(meter.snapshot(5)).toMatchObject({ recordsPerSecond: 0, bytesPerSecond: 0 });
    expect(meter.totals(5)).toMatchObject({ recordsPerSecond: 0, bytesPerSecond: 0 });
  });
});

describe('formatting', () => {
  it('formats counts and decimal byte sizes', () => {
    expect(formatCount(1234567.4)).toBe('1,234,567');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.50 kB');
    expect(formatBytes(12_345_678)).toBe('12.3 MB');
    expect(formatBytes(999_960)).toBe('1.00 MB');
    expect(formatBytes(2.5e12)).toBe('2.50 TB');
  });

  it('formats the live line and the summary', () => {
    const snapshot = { records: 12_345, bytes: 1_230_000, elapsedMs: 3100, recordsPerSecond: 4567, bytesPerSecond: 450_000 };
    expect(formatProgress(snapshot)).toBe('12,345 records  1.23 MB  4,567 records/s  450 kB/s  3.10 s');
    expect(formatSummary('produced', snapshot, ' to t')).toBe('produced 12,345 records (1.23 MB) to t in 3.10 s (4,567 records/s, 450 kB/s)');
    expect(formatSummary('consumed', { ...snapshot, records: 1, elapsedMs: 0 })).toBe('consumed 1 record (1.23 MB) in 0.00 s');
    expect(formatSummary('produced', { ...snapshot, records: 0 }, ' to t', ', stopped by an error')).toBe('produced 0 records (1.23 MB) to t in 3.10 s, stopped by an error');
  });
});

describe('startProgressLine', () => {
  function fakeIo(isTty: boolean): { io: CliIo; written: () => string } {
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const io = { stderr, stderrIsTty: isTty, now: () => 0 } as unknown as CliIo;
    return { io, written: () => text };
  }

  it('draws nothing when stderr is not a terminal or progress is off', () => {
    const meter = new ProgressMeter(-progressDelayMs);
    for (const [tty, enabled] of [
      [false, true],
      [true, false],
    ] as const) {
      const { io, written } = fakeIo(tty);
      const stop = startProgressLine(io, meter, enabled);
      stop();
      expect(written()).toBe('');
    }
  });
});
