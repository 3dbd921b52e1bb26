/**
 * Drives libs/reconcile's Lease decisions against a real coordination.k8s.io/v1 Lease: every
 * retryPeriod it reads the Lease, asks `decideLease`, performs the create or the optimistic
 * update (with the resourceVersion read), and reports the outcome with `afterLeaseWrite`.
 * A watchdog checks `isLeading` between rounds too, so a leader whose renewals hang stops at
 * its renew deadline, before the lease can expire for the standbys. `release` (on SIGTERM)
 * empties the holder, so a standby takes over within one retry period.
 */
import type { Scheduler } from '@starlane/io-ports';
import {
  afterLeaseWrite,
  decideLease,
  isLeading,
  newElector,
  releaseLease,
  type ElectorState,
  type LeaderElectionDurations,
  type LeaseDecision,
  type LeaseRecord,
  type LeaseWriteOutcome,
  type ObservedLease,
} from '@starlane/reconcile';
import type { Logger } from '@starlane/service-host';
import { httpStatusOf, kubeErrorText, leaseResource, type KubeConfig, type KubeModule } from './kube';

export interface LeaseElectorOptions {
  readonly k8s: KubeModule;
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly durations: LeaderElectionDurations;
  readonly scheduler: Scheduler;
  readonly nowMs: () => number;
  readonly logger: Logger;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
}

const leasePath = { group: leaseResource.group, version: leaseResource.version, plural: leaseResource.plural };

export class LeaseElector {
  private state: ElectorState;
  private leading = false;
  private stopped = false;
  private cancelTimer: (() => void) | undefined;
  private cancelWatchdog: (() => void) | undefined;
  private round: Promise<void> = Promise.resolve();
  private readonly api;

  constructor(private readonly options: LeaseElectorOptions) {
    this.state = newElector(options.identity);
    this.api = options.kc.makeApiClient(options.k8s.CustomObjectsApi);
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.tick();
  }

  /**
   * Stops campaigning; when we lead, stops leading, waits for `drained` (the passes in flight)
   * and gives the Lease up (client-go ReleaseOnCancel), so no two replicas ever act at once.
   */
  async stop(drained: () => Promise<void>): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelWatchdog?.();
    await this.round;
    const wasLeading = this.leading;
    this.setLeading(false);
    await drained();
    if (!wasLeading) return;
    try {
      const observed = await this.read();
      const release = observed === undefined ? undefined : releaseLease(this.state, observed);
      if (release !== undefined && release.type !== 'wait') await this.write(release);
      this.options.logger.info({ event: 'lease-released', lease: this.options.name }, `released lease ${this.options.namespace}/${this.options.name}`);
    } catch (error) {
      this.options.logger.warn({ event: 'lease-release-failed', err: kubeErrorText(error) }, `could not release the lease: ${kubeErrorText(error)}`);
    }
  }

  private tick(): void {
    if (this.stopped) return;
    this.round = this.campaign().catch((error: unknown) => {
      this.options.logger.warn({ event: 'lease-error', err: kubeErrorText(error) }, `leader election round failed: ${kubeErrorText(error)}`);
    });
    void this.round.then(() => {
      if (this.stopped) return;
      this.checkStillLeading();
      this.cancelTimer = this.options.scheduler.schedule(this.options.durations.retryPeriodMs, () => this.tick());
    });
    // The watchdog: a round that hangs (a slow API server) must not keep us leading past the renew deadline.
    this.cancelWatchdog?.();
    this.cancelWatchdog = this.options.scheduler.schedule(this.options.durations.renewDeadlineMs, () => this.checkStillLeading());
  }

  private checkStillLeading(): void {
    if (this.leading && !isLeading(this.state, this.options.nowMs(), this.options.durations)) {
      this.options.logger.warn({ event: 'lease-lost' }, 'could not renew the lease within the renew deadline; stopping reconciliation');
      this.setLeading(false);
    }
  }

  private async campaign(): Promise<void> {
    let observed: ObservedLease | undefined;
    try {
      observed = await this.read();
    } catch (error) {
      this.state = afterLeaseWrite(this.state, {}, 'error', this.options.nowMs(), this.options.durations);
      this.setLeading(isLeading(this.state, this.options.nowMs(), this.options.durations));
      throw error;
    }
    const { state, decision } = decideLease(this.state, observed, this.options.nowMs(), this.options.durations);
    this.state = state;
    if (decision.type === 'wait') {
      this.setLeading(false);
      return;
    }
    const outcome = await this.write(decision).then(
      (): LeaseWriteOutcome => 'ok',
      (error: unknown): LeaseWriteOutcome => {
        const status = httpStatusOf(error);
        if (status === 409) return 'conflict';
        this.options.logger.warn({ event: 'lease-write-failed', err: kubeErrorText(error) }, `lease write failed: ${kubeErrorText(error)}`);
        return 'error';
      },
    );
    // A create that lost the race (409 AlreadyExists) is a conflict too.
    this.state = afterLeaseWrite(this.state, decision.record, outcome, this.options.nowMs(), this.options.durations);
    this.setLeading(isLeading(this.state, this.options.nowMs(), this.options.durations));
  }

  private async read(): Promise<ObservedLease | undefined> {
    const { namespace, name } = this.options;
    try {
      const lease = (await this.api.getNamespacedCustomObject({ ...leasePath, namespace, name })) as { metadata?: { resourceVersion?: string }; spec?: LeaseRecord };
      return { record: lease.spec ?? {}, resourceVersion: lease.metadata?.resourceVersion ?? '' };
    } catch (error) {
      if (httpStatusOf(error) === 404) return undefined;
      throw error;
    }
  }

  private async write(decision: Exclude<LeaseDecision, { type: 'wait' }>): Promise<void> {
    const { namespace, name } = this.options;
    const body = { apiVersion: `${leaseResource.group}/${leaseResource.version}`, kind: leaseResource.kind, metadata: { name, namespace }, spec: decision.record };
    if (decision.type === 'create') await this.api.createNamespacedCustomObject({ ...leasePath, namespace, body });
    else await this.api.replaceNamespacedCustomObject({ ...leasePath, namespace, name, body: { ...body, metadata: { ...body.metadata, resourceVersion: decision.resourceVersion } } });
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    const { logger, identity } = this.options;
    if (leading) {
      logger.info({ event: 'leading', identity }, `${identity} leads: reconciling`);
      this.options.onStartedLeading();
    } else {
      logger.info({ event: 'not-leading', identity }, `${identity} does not lead: not reconciling`);
      this.options.onStoppedLeading();
    }
  }
}
