/**
 * `bench <suite...>`: runs benchmark suites. Each suite prints progress on stderr, then its
 * figures as one JSON object on the last line of stdout, and replaces its section of
 * docs/benchmarks.md. Usage errors print one line and exit 2; a failed run exits 1. A missed
 * goal is a figure, not a failure: the run still exits 0.
 */
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { e2eSuite } from './e2e-suite';
import { logSuite } from './log-suite';
import { replicationSuite } from './replication-suite';
import { writeLogCommand, writeLogCommandName } from './log-workload';
import { benchmarksDocPath, describeMachine, renderSection, writeSection } from './report';
import { resultJson, type Suite } from './suite';
import { UsageError } from './errors';
import { tuneRuntime } from '@starlane/service-host';

const suites: readonly Suite[] = [logSuite, e2eSuite, replicationSuite];
const scaleVariable = 'STARLANE_BENCH_SCALE';
/** Directory levels `main.js` may sit below the workspace root (it is built to dist/tools/bench). */
const rootSearchDepthMax = 8;

function helpText(): string {
  const width = Math.max(...suites.map((suite) => suite.name.length));
  return [
    'usage: bench <suite...>',
    '',
    'Measures Starlane against the raw limits of this machine. Each suite prints progress on',
    'stderr, its figures as one JSON object on the last line of stdout, and replaces its',
    `section of ${benchmarksDocPath}.`,
    '',
    'suites:',
    ...suites.map((suite) => `  ${suite.name.padEnd(width)}  ${suite.summary}`),
    '',
    'environment:',
    `  ${scaleVariable}  factor in (0, 1] for sizes and durations (default 1); a scaled run is a`,
    `  smoke test and leaves ${benchmarksDocPath} unchanged`,
    '',
  ].join('\n');
}

function parseScale(text: string | undefined): number {
  if (text === undefined || text === '') return 1;
  const scale = Number(text);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 1) throw new UsageError(`${scaleVariable} must be a number in (0, 1], got ${JSON.stringify(text)}`);
  return scale;
}

function parseSuites(args: readonly string[]): Suite[] {
  const chosen: Suite[] = [];
  for (const arg of args) {
    if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg} (see --help)`);
    const suite = suites.find((candidate) => candidate.name === arg);
    if (suite === undefined) throw new UsageError(`unknown suite ${JSON.stringify(arg)}; suites: ${suites.map((known) => known.name).join(', ')}`);
    if (chosen.includes(suite)) throw new UsageError(`suite ${arg} given twice`);
    chosen.push(suite);
  }
  if (chosen.length === 0) throw new UsageError('name at least one suite (see --help)');
  return chosen;
}

/** The workspace root: the nearest directory above this bundle holding nx.json. */
function workspaceRoot(): string {
  let directory = __dirname;
  for (let depth = 0; depth < rootSearchDepthMax; depth++) {
    if (existsSync(join(directory, 'nx.json'))) return directory;
    directory = dirname(directory);
  }
  return process.cwd();
}

/** Scratch directories to remove if the run is interrupted. */
const scratchDirectories = new Set<string>();

function removeScratchAndExit(status: number): void {
  for (const directory of scratchDirectories) rmSync(directory, { recursive: true, force: true });
  process.exit(status);
}

async function runSuite(suite: Suite, scale: number): Promise<void> {
  const progress = (message: string): void => {
    process.stderr.write(`[bench ${suite.name}] ${message}\n`);
  };
  const scratchDirectory = await mkdtemp(join(tmpdir(), `starlane-bench-${suite.name}-`));
  scratchDirectories.add(scratchDirectory);
  const startedAt = new Date();
  let result;
  try {
    result = await suite.run({ scale, scratchDirectory, programPath: __filename, progress });
  } finally {
    await rm(scratchDirectory, { recursive: true, force: true });
    scratchDirectories.delete(scratchDirectory);
  }
  progress(`finished in ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s`);
  if (scale === 1) {
    const path = join(workspaceRoot(), benchmarksDocPath);
    await writeSection(path, suite.name, renderSection(result, describeMachine(), startedAt));
    progress(`updated ${path}`);
  } else {
    progress(`scale ${scale}: ${benchmarksDocPath} left unchanged`);
  }
  process.stdout.write(`${resultJson(result, scale)}\n`);
}

async function main(args: readonly string[]): Promise<void> {
  if (args[0] === writeLogCommandName) {
    await writeLogCommand(args.slice(1));
    return;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(helpText());
    return;
  }
  const chosen = parseSuites(args);
  // The client side of every measurement runs in this process: tuned as the servers are, so
  // its own collections do not show up as server latency (`npm run bench` also starts it with
  // the launcher's allocator settings and --single-threaded-gc).
  tuneRuntime();
  const scale = parseScale(process.env[scaleVariable]);
  process.on('SIGINT', () => removeScratchAndExit(130));
  process.on('SIGTERM', () => removeScratchAndExit(143));
  for (const suite of chosen) await runSuite(suite, scale);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
