/**
 * Label values with a bound, so a metric labelled by something clients create (topics) keeps
 * a bounded number of series: the first `valuesMax` distinct values get a series of their own,
 * in the order they are first seen; later ones share the series of `overflowValue` until a
 * slot is freed (the topic was deleted). Prometheus' cost grows with series, and a cluster
 * may hold many more topics than a dashboard can show.
 */
export class BoundedLabels {
  private readonly assigned = new Set<string>();

  constructor(
    readonly valuesMax: number,
    /** The value that stands for every value past the bound; choose one that cannot be a real value. */
    readonly overflowValue: string,
  ) {
    if (!Number.isInteger(valuesMax) || valuesMax < 0) throw new RangeError(`valuesMax must be a non-negative integer, got ${valuesMax}`);
  }

  /** The label value to use for `value`: itself while there is room (or it already has a slot), else the overflow value. */
  labelFor(value: string): string {
    if (this.assigned.has(value)) return value;
    if (this.assigned.size >= this.valuesMax) return this.overflowValue;
    this.assigned.add(value);
    return value;
  }

  /** Values with a slot of their own. */
  values(): readonly string[] {
    return [...this.assigned];
  }

  /** Frees the slots of values `keep` rejects; returns the values released (their series should be removed). */
  releaseUnless(keep: (value: string) => boolean): string[] {
    const released: string[] = [];
    for (const value of this.assigned) {
      if (keep(value)) continue;
      this.assigned.delete(value);
      released.push(value);
    }
    return released;
  }
}
