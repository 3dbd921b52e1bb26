/** Command-line options of `simulate`. */

export class UsageError extends Error {}

export interface SimulateArgs {
  /** First seed of the run. */
  readonly seed: number;
  /** How many seeds, from `seed` on. */
  readonly seeds: number;
  /** Steps per seed. */
  readonly steps: number;
  readonly help: boolean;
}

export const stepsDefault = 3000;
/** Seeds one invocation may run: a run of more is split, so its output stays readable. */
export const seedsMax = 1_000_000;
/** Steps per seed at most (a step is 10 simulated ms). */
export const stepsMax = 1_000_000;

export const helpText = [
  'usage: simulate [--seeds N] [--seed S] [--steps K]',
  '',
  'Runs the deterministic cluster simulator: storage nodes, the metadata controller, clients and',
  'a faulty network on simulated time. Each seed is one run; after every step the safety checks',
  'run, and after faults heal every partition must be back to its full ISR in bounded time.',
  '',
  '  --seeds N   run N seeds (default 1)',
  '  --seed S    first seed (default 1); with --seeds 1, replays seed S',
  `  --steps K   steps per seed (default ${stepsDefault}; a step is 10 simulated ms)`,
  '',
  'Prints one line per failing seed, the report of the first failure (seed, step, trace), and a',
  'summary. Exits 1 if a seed failed, 2 on a usage error.',
  '',
].join('\n');

function integer(name: string, text: string | undefined, min: number, max: number): number {
  if (text === undefined || !/^\d+$/.test(text)) throw new UsageError(`${name} needs a whole number, got ${JSON.stringify(text ?? '')}`);
  const value = Number(text);
  if (value < min || value > max) throw new UsageError(`${name} must be from ${min} to ${max}, got ${value}`);
  return value;
}

export function parseArgs(argv: readonly string[]): SimulateArgs {
  let seed = 1;
  let seeds = 1;
  let steps = stepsDefault;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--seed':
        seed = integer('--seed', value(), 0, 2 ** 32 - 1);
        break;
      case '--seeds':
        seeds = integer('--seeds', value(), 1, seedsMax);
        break;
      case '--steps':
        steps = integer('--steps', value(), 1, stepsMax);
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new UsageError(`unknown argument ${arg} (see --help)`);
    }
  }
  return { seed, seeds, steps, help };
}
