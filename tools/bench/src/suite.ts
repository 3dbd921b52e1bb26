/**
 * What every suite hands back: named figures, some with a goal, plus a paragraph on method.
 * main.ts turns a result into the JSON line on stdout and the suite's section of
 * docs/benchmarks.md, so suites never format output themselves.
 */

export interface Goal {
  readonly comparison: 'atLeast' | 'atMost';
  readonly value: number;
}

export interface Figure {
  /** The key in the JSON line, e.g. `appendRatio`. */
  readonly name: string;
  readonly value: number;
  /** Decimal places shown in the table and kept in the JSON line. */
  readonly digits: number;
  /** What the figure is, for the table: a short phrase. */
  readonly description: string;
  readonly goal?: Goal;
}

export interface SuiteResult {
  readonly suite: string;
  /** Goal figures first, then the absolute figures they are computed from. */
  readonly figures: readonly Figure[];
  /** Extra facts for the JSON line and the section (e.g. an open report); flat and small. */
  readonly details: Readonly<Record<string, string | number | boolean>>;
  /** One paragraph: what was measured, against what, and how noise was handled. */
  readonly method: string;
}

export interface SuiteContext {
  /** Factor in (0, 1] applied to sizes and durations; 1 for the figures that get published. */
  readonly scale: number;
  /** A fresh directory under the OS temporary directory, removed by the caller afterwards. */
  readonly scratchDirectory: string;
  /** This program's bundle, for suites that run a child process of it. */
  readonly programPath: string;
  /** One line of human-readable progress (stderr). */
  progress(message: string): void;
}

export interface Suite {
  readonly name: string;
  readonly summary: string;
  run(context: SuiteContext): Promise<SuiteResult>;
}

export function goalMet(figure: Figure): boolean | null {
  if (figure.goal === undefined) return null;
  return figure.goal.comparison === 'atLeast' ? figure.value >= figure.goal.value : figure.value <= figure.goal.value;
}

export function describeGoal(goal: Goal): string {
  return `${goal.comparison === 'atLeast' ? '≥' : '≤'} ${goal.value}`;
}

export function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** The suite's JSON line: every figure by name, the details, and which goals were missed. */
export function resultJson(result: SuiteResult, scale: number): string {
  const figures = Object.fromEntries(result.figures.map((figure) => [figure.name, roundTo(figure.value, figure.digits)]));
  const goalsMissed = result.figures.filter((figure) => goalMet(figure) === false).map((figure) => figure.name);
  return JSON.stringify({ suite: result.suite, scale, ...figures, ...result.details, goalsMissed });
}
