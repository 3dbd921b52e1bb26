/** Runs seeds one after another and sums them up. */
import { faultKinds, runSimulation, type FaultKind, type SimNodeFactory, type SimulationResult } from '@starlane/testing';
import type { SimulateArgs } from './args';

export interface RunSummary {
  readonly seeds: number;
  readonly failed: readonly SimulationResult[];
  /** Every fault injected: scheduled + message faults (docs/simulator.md, "Counting faults"). */
  readonly faults: number;
  readonly scheduledFaults: number;
  readonly faultsByKind: ReadonlyMap<FaultKind, number>;
  readonly messageFaults: number;
  /** Messages lost to loss bursts, and to partitions or hosts that were down. */
  readonly lostInBursts: number;
  readonly lostToCuts: number;
  /** Streams broken without a message lost (a peer died or was cut off). */
  readonly streamBreaksWithoutLoss: number;
  /** Answers lost after the server had acted (among the lost messages): a retry runs twice. */
  readonly answersLostAfterHandling: number;
  readonly simulatedMs: number;
  readonly wallMs: number;
}

export async function runSeeds<Req, Res>(
  args: Pick<SimulateArgs, 'seed' | 'seeds' | 'steps'>,
  nodeFactory: SimNodeFactory<Req, Res>,
  out: (line: string) => void,
  nowMs: () => number,
): Promise<RunSummary> {
  const started = nowMs();
  const failed: SimulationResult[] = [];
  const byKind = new Map<FaultKind, number>(faultKinds.map((kind) => [kind, 0]));
  const sums = { faults: 0, scheduledFaults: 0, messageFaults: 0, lostInBursts: 0, lostToCuts: 0, streamBreaksWithoutLoss: 0, answersLostAfterHandling: 0, simulatedMs: 0 };
  for (let seed = args.seed; seed < args.seed + args.seeds; seed++) {
    const result = await runSimulation({ seed, steps: args.steps, nodeFactory });
    const network = result.network;
    sums.faults += result.faults;
    sums.scheduledFaults += result.scheduledFaults;
    sums.messageFaults += result.messageFaults;
    sums.lostInBursts += network.lostInBursts;
    sums.lostToCuts += network.lostToCuts;
    sums.streamBreaksWithoutLoss += network.streamBreaks - network.streamBreaksByLoss;
    sums.answersLostAfterHandling += network.answersLostAfterHandling;
    sums.simulatedMs += result.simulatedMs;
    for (const [kind, count] of result.faultsByKind) byKind.set(kind, (byKind.get(kind) ?? 0) + count);
    if (result.failure !== undefined) {
      failed.push(result);
      out(`seed ${seed}: FAILED at step ${result.failure.step}: ${result.failure.message}`);
    }
  }
  return { seeds: args.seeds, failed, faultsByKind: byKind, ...sums, wallMs: nowMs() - started };
}

export function summaryLine(summary: RunSummary): string {
  const hours = (summary.simulatedMs / 3_600_000).toFixed(2);
  const kinds = [...summary.faultsByKind].map(([kind, count]) => `${count} ${kind}`).join(', ');
  return [
    `${summary.seeds} seeds, ${summary.failed.length} failed; ${summary.faults} faults injected in ${hours} h simulated, ${(summary.wallMs / 1000).toFixed(1)} s`,
    `  ${summary.scheduledFaults} scheduled: ${kinds}`,
    `  ${summary.messageFaults} message faults: ${summary.lostInBursts} messages lost in loss bursts, ${summary.lostToCuts} lost to partitions and down hosts, ` +
      `${summary.streamBreaksWithoutLoss} streams broken without a loss (${summary.answersLostAfterHandling} of the lost messages were answers to requests the server had run)`,
  ].join('\n');
}
