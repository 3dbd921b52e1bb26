import { heapGrowingPercent, tuneRuntime } from './runtime';

describe('tuneRuntime', () => {
  it('sets the heap growing percent when the process was not given one', () => {
    const set: string[] = [];
    tuneRuntime({ execArgv: ['--enable-source-maps'], nodeOptions: '--max-old-space-size=512', setFlags: (flags) => set.push(flags) });
    expect(set).toEqual([`--heap-growing-percent=${heapGrowingPercent}`]);
  });

  it.each([
    [['--heap-growing-percent=50'], ''],
    [[], '--trace-gc --heap_growing_percent=20'],
  ])('leaves a growing percent given on the command line (%j) or in NODE_OPTIONS (%j) alone', (execArgv, nodeOptions) => {
    const set: string[] = [];
    tuneRuntime({ execArgv, nodeOptions, setFlags: (flags) => set.push(flags) });
    expect(set).toEqual([]);
  });
});
