/**
 * The simulator's machinery end to end, driven with a toy replica (a test double, see
 * toy-replica.fixture.ts): the cluster forms on the real MetadataController, faults happen,
 * the checks run, a seed replays the same run, and a planted defect is caught with its seed,
 * step and trace.
 */
import { runSimulation, type SimulationOptions } from './simulation';
import { toyReplica, type ToyAnswer, type ToyDefects, type ToyFetch } from './toy-replica.fixture';

const options = (seed: number, defects: ToyDefects = {}): SimulationOptions<ToyFetch, ToyAnswer> => ({
  seed,
  steps: 1500,
  quietSteps: 500,
  nodeFactory: (environment) => toyReplica(environment, defects),
  faults: { faultProbabilityPerStep: 0.03, durationMsMin: 50, durationMsMax: 1500, nodesImpairedMax: 1, lossProbabilityMax: 0.3 },
});

describe('cluster simulation (toy replica)', () => {
  it('forms a cluster, injects faults, checks every step, and replays a seed exactly', async () => {
    const first = await runSimulation(options(11));
    const again = await runSimulation(options(11));
    expect(first.failure?.report).toBeUndefined();
    expect(first.ok).toBe(true);
    expect(first.faults).toBeGreaterThan(10);
    expect(first.acknowledgedAll).toBeGreaterThan(20);
    expect(again.traceDigest).toBe(first.traceDigest);
    expect(again.network).toEqual(first.network);
    expect(again.simulatedMs).toBe(first.simulatedMs);
    const other = await runSimulation(options(12));
    expect(other.traceDigest).not.toBe(first.traceDigest);
  }, 60_000);

  it('catches an acks=all answer given before the ISR has the records, with seed, step and trace', async () => {
    const failures = [];
    for (let seed = 1; seed <= 12 && failures.length === 0; seed++) {
      const result = await runSimulation(options(seed, { ackBeforeReplicated: true }));
      if (!result.ok) failures.push(result);
    }
    const report = failures[0]?.failure?.report ?? '';
    expect(report).toMatch(/^seed \d+ failed at step \d+: (acknowledged write .* (missing|moved|replaced)|.* was committed as .* below its high watermark)/);
    expect(report).toMatch(/replay: npm run simulate -- --seed \d+ --steps 1500/);
    expect(report).toContain('fault ');
  }, 120_000);
});
