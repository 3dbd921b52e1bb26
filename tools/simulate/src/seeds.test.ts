/**
 * The suite's share of the simulator: the storage node's real replica code (ReplicaNode and
 * NodeLifecycle, wired in sim-node.ts) under the deterministic cluster simulator, over a fixed
 * set of seeds, with the log and liveness checks after every step. Every seed must pass, and
 * the run as a whole must hold at least 10^4 faults (what counts as one: docs/simulator.md).
 * A failing seed prints its report (seed, step, trace); replay it with
 * `npm run simulate -- --seed S`.
 */
import { runSeeds, summaryLine } from './run';
import { replicaNodeFactory } from './sim-node';
import { suiteFaultsMin, suiteSeeds } from './suite';

describe('the simulator over the suite seeds (real replica code)', () => {
  it(`runs seeds ${suiteSeeds.seed}..${suiteSeeds.seed + suiteSeeds.seeds - 1} with no failure and at least ${suiteFaultsMin} faults`, async () => {
    if (replicaNodeFactory === undefined) throw new Error('the replica code is not wired to the simulator (sim-node.ts)');
    const failures: string[] = [];
    const summary = await runSeeds(suiteSeeds, replicaNodeFactory, (line) => failures.push(line), () => performance.now());
    // The summary always; the first failure's whole report (its trace) when a seed failed.
    console.log([summaryLine(summary), ...failures, summary.failed[0]?.failure?.report ?? ''].join('\n'));
    expect(failures).toEqual([]);
    expect(summary.faults).toBeGreaterThanOrEqual(suiteFaultsMin);
  }, 600_000);
});
