/**
 * The seeds the test suite runs (seeds.test.ts): a bounded share of CI time (about 25 s
 * on two quiet cores, 90 s at most on busy shared ones) that still holds at least `suiteFaultsMin` faults. Long runs use
 * `npm run simulate -- --seeds N`.
 */
import { stepsDefault } from './args';

export const suiteSeeds = { seed: 1, seeds: 60, steps: stepsDefault };
/** Faults the suite's run must hold at least (scheduled + message faults, docs/simulator.md). */
export const suiteFaultsMin = 10_000;
