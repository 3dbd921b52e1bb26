/**
 * The gateway's own metrics on `/metrics` (wiring only): how current the metadata it routes by
 * is. Request latency and errors by code come from the service host for every method, with the
 * per-request and per-partition detail the produce and consume services add.
 * docs/operations.md lists every metric.
 */
import type { MetadataWatcher } from '@starlane/metadata-rpc';
import { Gauge, type Registry } from 'prom-client';

export function registerGatewayMetrics(options: { readonly registry: Registry; readonly metadata: MetadataWatcher; readonly nowMs: () => number }): void {
  const { registry, metadata, nowMs } = options;
  // Until the first image arrives, the age counts from the start: the gateway has routed by nothing that long.
  let appliedAtMs = nowMs();
  metadata.onChange(() => {
    appliedAtMs = nowMs();
  });
  new Gauge({
    name: 'starlane_gateway_metadata_version',
    help: "Version of the metadata image the gateway routes by (compare with starlane_controller_metadata_version; Kafka: the broker's last-applied-record-offset)",
    registers: [registry],
    collect() {
      this.set(metadata.current().version);
    },
  });
  new Gauge({
    name: 'starlane_gateway_metadata_age_seconds',
    help: 'Seconds since the gateway last applied a metadata change (a snapshot or delta); grows on an idle cluster, so read it with the version',
    registers: [registry],
    collect() {
      this.set((nowMs() - appliedAtMs) / 1000);
    },
  });
}
