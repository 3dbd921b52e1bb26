/**
 * How a follower paces one partition's fetches when they stop making progress. Kafka's replica
 * fetcher delays a partition by replica.fetch.backoff.ms after an error; here the delay starts
 * small and doubles for each failure in a row up to a bound, so a passing hiccup (a leader that
 * has not seen the newest metadata yet) costs little and a lasting one costs one try every
 * `backoffMsMax`.
 *
 * It also recognises a truncation answer that repeats: the leader says the same thing (the same
 * diverging epoch and end offset, or the same log end for an out-of-range fetch) while the
 * follower's log is in the same state as when it last acted on that answer. Acting on it again
 * would change nothing, and answering and acting in turn would be a busy loop on both nodes; so
 * a repeat counts as a failure (the partition backs off) and is reported, at most once per
 * `repeatLogIntervalMs`, with how many repeats went unreported meanwhile.
 *
 * Pure and clock-free: the caller passes the time.
 */
import { backoffMs } from '@starlane/model';

export interface FetchPacingBounds {
  /** First delay after a failure. */
  readonly backoffMsInitial: number;
  /** Largest delay, however many failures in a row. */
  readonly backoffMsMax: number;
  /** Shortest time between two reports of repeated answers. */
  readonly repeatLogIntervalMs: number;
}

/** What the follower's log looked like when an answer arrived. */
export interface FollowerLogState {
  readonly logEndOffset: bigint;
  /** Epoch of the last batch (the fetch's last_fetched_epoch); -1 with no history. */
  readonly lastEpoch: number;
}

/** What to do with a truncation answer. */
export type TruncationVerdict =
  /** Act on it: truncate as it says. */
  | { readonly kind: 'act' }
  /**
   * The same answer for the same log state again: do not act; fetch again at `retryAtMs`. When
   * `report` is set, say so now, with the repeats since the previous report (this one included).
   */
  | { readonly kind: 'repeated'; readonly retryAtMs: number; readonly report: boolean; readonly repeats: number };

export class FetchPacing {
  private failuresInRow = 0;
  /** The last truncation answer acted on, with the log state it was acted on from. */
  private lastTruncation: string | undefined;
  private lastReportMs: number | undefined;
  private unreported = 0;

  constructor(private readonly bounds: FetchPacingBounds) {}

  /** Failures in a row since the last progress. */
  get failures(): number {
    return this.failuresInRow;
  }

  /**
   * A fetch failed (the leader refused the partition, the log refused its records): when to try
   * again. Delays run initial, 2 x initial, 4 x initial, ... up to the maximum.
   */
  failed(nowMs: number): number {
    const delayMs = backoffMs(this.failuresInRow, { initialMs: this.bounds.backoffMsInitial, maxMs: this.bounds.backoffMsMax });
    this.failuresInRow += 1;
    return nowMs + delayMs;
  }

  /** The partition made progress (records appended, the high watermark learned): delays start over. */
  progressed(): void {
    this.failuresInRow = 0;
    this.lastTruncation = undefined;
  }

  /**
   * A truncation answer arrived, `answer` naming what it says (for a divergence, its epoch and
   * end offset). Worked example: the leader says epoch 0 ends at 10, the log ends at 10 with
   * last epoch 2: act. If the same answer comes while the log still ends at 10 with last epoch
   * 2, acting changed nothing: repeated, back off.
   */
  truncation(answer: string, local: FollowerLogState, nowMs: number): TruncationVerdict {
    const key = `${answer} @ ${local.logEndOffset} ${local.lastEpoch}`;
    if (key !== this.lastTruncation) {
      this.lastTruncation = key;
      return { kind: 'act' };
    }
    const retryAtMs = this.failed(nowMs);
    this.unreported += 1;
    const report = this.lastReportMs === undefined || nowMs - this.lastReportMs >= this.bounds.repeatLogIntervalMs;
    const repeats = this.unreported;
    if (report) {
      this.lastReportMs = nowMs;
      this.unreported = 0;
    }
    return { kind: 'repeated', retryAtMs, report, repeats };
  }
}
