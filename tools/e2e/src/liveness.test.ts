import { sampleValues, underReplicatedMetric } from './liveness';

describe('sampleValues', () => {
  const text = [
    '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
    '# TYPE process_cpu_seconds_total counter',
    'process_cpu_seconds_total 1.25',
    'process_cpu_seconds_total_extra 9',
    `${underReplicatedMetric}{topic="a"} 2`,
    `${underReplicatedMetric}{topic="b",note="x}y"} 1 1700000000000`,
    '',
  ].join('\n');

  it('reads an unlabelled sample and not a metric whose name only starts the same', () => {
    expect(sampleValues(text, 'process_cpu_seconds_total')).toEqual([1.25]);
  });

  it('reads every labelled sample, timestamps and braces in label values aside', () => {
    expect(sampleValues(text, underReplicatedMetric)).toEqual([2, 1]);
  });

  it('finds nothing for a metric that is not exported', () => {
    expect(sampleValues(text, 'starlane_missing')).toEqual([]);
  });
});
