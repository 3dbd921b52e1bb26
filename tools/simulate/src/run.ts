/** Runs seeds one after another and sums them up. */
import { runSimulation, type SimNodeFactory, type SimulationResult } from '@starlane/testing';
import type { SimulateArgs } from './args';

export interface RunSummary {
  readonly seeds: number;
  readonly failed: readonly SimulationResult[];
  readonly faults: number;
  readonly messagesLost: number;
  readonly simulatedMs: number;
  readonly wallMs: number;
}

export async function runSeeds<Req, Res>(
  args: SimulateArgs,
  nodeFactory: SimNodeFactory<Req, Res>,
  out: (line: string) => void,
  nowMs: () => number,
): Promise<RunSummary> {
  const started = nowMs();
  const failed: SimulationResult[] = [];
  let faults = 0;
  let messagesLost = 0;
  let simulatedMs = 0;
  for (let seed = args.seed; seed < args.seed + args.seeds; seed++) {
    const result = await runSimulation({ seed, steps: args.steps, nodeFactory });
    faults += result.faults;
    messagesLost += result.network.dropped;
    simulatedMs += result.simulatedMs;
    if (result.failure !== undefined) {
      failed.push(result);
      out(`seed ${seed}: FAILED at step ${result.failure.step}: ${result.failure.message}`);
    }
  }
  return { seeds: args.seeds, failed, faults, messagesLost, simulatedMs, wallMs: nowMs() - started };
}

export function summaryLine(summary: RunSummary): string {
  const hours = (summary.simulatedMs / 3_600_000).toFixed(2);
  return `${summary.seeds} seeds, ${summary.failed.length} failed; ${summary.faults} faults injected, ${summary.messagesLost} messages lost; ${hours} h simulated in ${(summary.wallMs / 1000).toFixed(1)} s`;
}
