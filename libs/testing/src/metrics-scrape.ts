/**
 * Reads a process's `/metrics` as a test would look at a dashboard: one scrape parsed into
 * samples, and the value of one series by name and labels.
 */

export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses Prometheus text exposition format (comments skipped; label values unescaped). */
export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** One scrape of `http://<metricsAddress>/metrics`, given up after `timeoutMs` if one is given. */
export async function scrapeMetrics(metricsAddress: string, timeoutMs?: number): Promise<MetricSample[]> {
  const response = await fetch(`http://${metricsAddress}/metrics`, timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET /metrics on ${metricsAddress} answered ${response.status}`);
  return parseMetrics(await response.text());
}

/**
 * The value of the series `name` whose labels include `labels`, summed when several match
 * (so a metric without labels, or a sum over one label, reads the same way); undefined when
 * none does.
 */
export function metricValue(samples: readonly MetricSample[], name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  let sum: number | undefined;
  for (const sample of samples) {
    if (sample.name !== name || !Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) continue;
    sum = (sum ?? 0) + sample.value;
  }
  return sum;
}
