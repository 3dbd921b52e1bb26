/**
 * The operator's own metrics on the service host's registry (`/metrics`); docs/kubernetes.md
 * lists them. Results are a closed set, so the label cannot grow.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const reconcileResults = ['converged', 'requeued', 'retry', 'error'] as const;
export type ReconcileResult = (typeof reconcileResults)[number];

/** Reconcile durations: an admin round trip on a healthy cluster is milliseconds; a slow or failing one waits out its deadline (10 s). */
export const reconcileDurationBucketsSeconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface OperatorMetrics {
  readonly reconciles: Counter<'result'>;
  readonly errors: Counter;
  readonly duration: Histogram;
  readonly leader: Gauge;
  readonly informerRestarts: Counter<'resource'>;
  readonly resyncs: Counter;
}

export function registerOperatorMetrics(registry: Registry, queueDepth: () => number): OperatorMetrics {
  const reconciles = new Counter({
    name: 'starlane_operator_reconciles_total',
    help: 'Topic reconcile passes by result: converged (nothing more to do), requeued (changes made, checked again), retry (a transient failure, backed off), error (the pass itself failed)',
    labelNames: ['result'],
    registers: [registry],
  });
  for (const result of reconcileResults) reconciles.inc({ result }, 0);
  const errors = new Counter({
    name: 'starlane_operator_reconcile_errors_total',
    help: 'Reconcile passes that failed: an admin call without an answer, or a Kubernetes write that failed; each is retried with back-off',
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'starlane_operator_reconcile_duration_seconds',
    help: 'Time of one Topic reconcile pass, observation of the cluster and actions included',
    buckets: reconcileDurationBucketsSeconds,
    registers: [registry],
  });
  new Gauge({
    name: 'starlane_operator_queue_depth',
    help: 'Topics waiting in the work queue (0 on a standby)',
    registers: [registry],
    collect() {
      this.set(queueDepth());
    },
  });
  const leader = new Gauge({ name: 'starlane_operator_leader', help: '1 while this replica holds the leader-election Lease and reconciles, else 0', registers: [registry] });
  leader.set(0);
  const informerRestarts = new Counter({
    name: 'starlane_operator_informer_restarts_total',
    help: 'Watches started again after an error other than 410 Gone (which relists by itself)',
    labelNames: ['resource'],
    registers: [registry],
  });
  // With it a test bounds reconcile passes by what queued them (no hot loop) without timing anything.
  const resyncs = new Counter({
    name: 'starlane_operator_resyncs_total',
    help: 'Times every cached Topic was queued again: each resync period, and on becoming the leader',
    registers: [registry],
  });
  return { reconciles, errors, duration, leader, informerRestarts, resyncs };
}
