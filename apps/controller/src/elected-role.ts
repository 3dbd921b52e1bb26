/**
 * A controller process with the etcd store: it campaigns for the controller key, and while it
 * holds it, it is the active controller — a term (`openActiveTerm`) over the etcd store,
 * fenced on its election term so nothing it writes can land after it lost the key. Otherwise
 * it is a standby and its services refuse calls, naming the active controller.
 *
 * A term ends when the lease is lost (as soon as this process can tell: see
 * `ControllerElection`), when the store fails (an append's outcome is unknown, or it was
 * refused), or on stop. The process then stops serving as active at once — routing goes back
 * to the standby handlers and every WatchMetadata stream ends with NOT_CONTROLLER — closes the
 * MetadataController, gives up the key if it still holds it, and campaigns again: a new term
 * loads the metadata afresh.
 */
import { StarlaneError } from '@starlane/model';
import type { MetadataStore } from '@starlane/metadata';
import { EtcdMetadataStore, type ControllerElection, type ControllerLeadership, type EtcdStoreRecovery } from '@starlane/metadata-etcd';
import type { Logger } from '@starlane/service-host';
import type { Namespace } from 'etcd3';
import type { ActiveTerm } from './active-term';
import type { MetadataStreams } from './controller-service';

/** Pause before campaigning again after a campaign or an activation failed (etcd unreachable). */
export const campaignRetryMs = 500;

export interface ElectedRoleOptions {
  readonly election: ControllerElection;
  readonly namespace: Namespace;
  /** Opens a term over `store` (loads it). */
  readonly open: (store: MetadataStore, recovery: () => EtcdStoreRecovery | undefined) => Promise<ActiveTerm>;
  /** Routes calls to `term`'s handlers, or to the standby handlers when undefined. */
  readonly serve: (term: ActiveTerm | undefined) => void;
  readonly streams: MetadataStreams;
  readonly logger: Logger;
}

export class ElectedRole {
  private stopping = false;
  /** Campaigns or activations that failed in a row (only the first and every 20th are logged). */
  private failures = 0;
  private loop: Promise<void> | undefined;
  /** The term being served, until it has stepped down. */
  private serving: Promise<void> | undefined;
  private wake: () => void = () => undefined;
  private readonly stopped: Promise<StarlaneError>;
  private reportStopped: (error: StarlaneError) => void = () => undefined;

  constructor(private readonly options: ElectedRoleOptions) {
    this.stopped = new Promise((resolve) => (this.reportStopped = resolve));
  }

  start(): void {
    if (this.loop !== undefined || this.stopping) return;
    this.loop = this.run();
  }

  /** Steps down (if active), gives up the key and stops campaigning. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.reportStopped(new StarlaneError('NOT_CONTROLLER', 'the controller is stopping'));
    this.wake();
    // An active term steps down first (its queued commands finish while it still holds the
    // key); closing the election then ends a campaign still waiting.
    await this.serving;
    await this.options.election.close().catch((error: unknown) => this.options.logger.warn({ event: 'election-close-failed', err: error }, 'could not resign cleanly'));
    await this.loop;
  }

  private async run(): Promise<void> {
    const { election, logger } = this.options;
    while (!this.stopping) {
      let leadership: ControllerLeadership;
      try {
        leadership = await election.campaign();
      } catch (error) {
        if (this.stopping) break;
        this.failed({ event: 'campaign-failed', err: error }, 'campaign for the controller lease failed; retrying');
        await this.pause();
        continue;
      }
      if (this.stopping) {
        await this.resign(leadership);
        break;
      }
      logger.info({ event: 'controller-elected', leaseTtlMs: leadership.leaseTtlMs }, 'won the controller election; loading metadata from etcd');
      this.serving = this.serveTerm(leadership);
      await this.serving;
      this.serving = undefined;
    }
  }

  /** Loads the metadata and serves as active until the term ends. */
  private async serveTerm(leadership: ControllerLeadership): Promise<void> {
    const { logger, streams } = this.options;
    const store = new EtcdMetadataStore({ namespace: this.options.namespace, fence: leadership });
    let term: ActiveTerm;
    try {
      term = await this.options.open(store, () => store.recovery);
    } catch (error) {
      this.failed({ event: 'activation-failed', err: error }, 'could not become the active controller; resigning');
      await this.resign(leadership);
      await this.pause();
      return;
    }
    if (!leadership.holding || this.stopping) {
      // The term ended while the metadata loaded: serve nothing from it.
      await term.close();
      await this.resign(leadership);
      return;
    }
    this.failures = 0;
    this.options.serve(term);
    const controllerEpoch = term.controller.image().controller?.controllerEpoch ?? 0;
    logger.info({ event: 'controller-active', controllerEpoch, metadataVersion: term.controller.image().version }, `active controller (epoch ${controllerEpoch})`);
    // Standbys name this controller from the key; the epoch there is informational.
    leadership.proclaim(controllerEpoch).catch((error: unknown) => logger.warn({ event: 'proclaim-failed', err: error }, 'could not publish the controller epoch'));

    const reason = await Promise.race([leadership.lost, term.failed, this.stopped]);
    // From here every call is answered as a standby would; open streams end now rather than
    // go quiet, so their watchers reconnect to whoever is active next.
    this.options.serve(undefined);
    streams.endAll(reason.message);
    const fields = { event: 'controller-inactive', errorCode: reason.code, reason: reason.message };
    if (this.stopping) logger.info(fields, 'stepping down: the controller is stopping');
    else logger.warn(fields, `no longer the active controller: ${reason.message}`);
    await term.close();
    await this.resign(leadership);
  }

  private failed(fields: object, message: string): void {
    this.failures += 1;
    if (this.failures === 1 || this.failures % 20 === 0) this.options.logger.warn({ attempt: this.failures, ...fields }, message);
  }

  private async resign(leadership: ControllerLeadership): Promise<void> {
    await leadership.resign().catch((error: unknown) => this.options.logger.warn({ event: 'resign-failed', err: error }, 'could not give up the controller lease; it expires by itself'));
  }

  private async pause(): Promise<void> {
    if (this.stopping) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, campaignRetryMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
