import { metricValue, parseMetrics } from './metrics-scrape';

const text = `# HELP starlane_storage_under_replicated_partitions Partitions ...
# TYPE starlane_storage_under_replicated_partitions gauge
starlane_storage_under_replicated_partitions 2
starlane_storage_bytes_in_total{topic="orders"} 100
starlane_storage_bytes_in_total{topic="(other)"} 5
starlane_rpc_errors_total{method="starlane.v1.ProducerService/Produce",code="NOT_LEADER_OR_FOLLOWER"} 3
odd_label{value="a \\"quoted\\" \\\\ value"} 1e3
`;

describe('parseMetrics / metricValue', () => {
  it('reads series by name and labels, summing those that match', () => {
    const samples = parseMetrics(text);
    expect(metricValue(samples, 'starlane_storage_under_replicated_partitions')).toBe(2);
    expect(metricValue(samples, 'starlane_storage_bytes_in_total', { topic: 'orders' })).toBe(100);
    expect(metricValue(samples, 'starlane_storage_bytes_in_total')).toBe(105);
    expect(metricValue(samples, 'starlane_rpc_errors_total', { code: 'NOT_LEADER_OR_FOLLOWER' })).toBe(3);
    expect(metricValue(samples, 'starlane_storage_bytes_in_total', { topic: 'nope' })).toBeUndefined();
    expect(samples.find((sample) => sample.name === 'odd_label')).toEqual({ name: 'odd_label', labels: { value: 'a "quoted" \\ value' }, value: 1000 });
  });
});
