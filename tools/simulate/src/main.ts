/**
 * `simulate [--seeds N] [--seed S] [--steps K]`: the deterministic cluster simulator over many
 * seeds, or one seed replayed. See docs/simulator.md.
 */
import { helpText, parseArgs, UsageError } from './args';
import { runSeeds, summaryLine } from './run';
import { replicaNodeFactory } from './sim-node';

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(helpText);
    return 0;
  }
  if (replicaNodeFactory === undefined) {
    process.stderr.write('simulate: the replica code is not wired to the simulator yet (tools/simulate/src/sim-node.ts); nothing to simulate\n');
    return 2;
  }
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const summary = await runSeeds(args, replicaNodeFactory, out, () => performance.now());
  const first = summary.failed[0]?.failure;
  if (first !== undefined) out(`\n${first.report}\n`);
  out(summaryLine(summary));
  return summary.failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`simulate: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`simulate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
