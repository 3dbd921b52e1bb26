/**
 * docs/benchmarks.md: one section per suite between marker comments, replaced whole on each
 * run, so the file only ever holds the latest figures of each suite.
 */
import { cpus, platform, arch, totalmem } from 'node:os';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { gibibyte } from './measure';
import { describeGoal, goalMet, type SuiteResult } from './suite';

export const benchmarksDocPath = 'docs/benchmarks.md';

const preamble = `# Benchmarks

Figures from \`npm run bench -- <suite>\` (\`tools/bench\`); each run of a suite replaces its
section below. Every figure with a goal is a ratio against a raw limit of the same machine
measured in the same run (plain \`fs\` on the same disk), or a time, so the goals hold across
machines in a way that absolute MB/s figures do not. The MB/s and appends/s figures are the
medians the ratios come from.
`;

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly node: string;
  readonly os: string;
}

export function describeMachine(): Machine {
  const cpuList = cpus();
  return {
    cores: cpuList.length,
    cpuModel: (cpuList[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim(),
    memoryBytes: totalmem(),
    node: process.version,
    os: `${platform()} ${arch()}`,
  };
}

function beginMarker(suite: string): string {
  return `<!-- bench:${suite}:begin -->`;
}

function endMarker(suite: string): string {
  return `<!-- bench:${suite}:end -->`;
}

/** The suite's section, markers included. `date` is written to the minute, in UTC. */
export function renderSection(result: SuiteResult, machine: Machine, date: Date): string {
  const when = `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const withGoals = result.figures.filter((figure) => figure.goal !== undefined);
  const missed = withGoals.filter((figure) => goalMet(figure) === false).map((figure) => `\`${figure.name}\``);
  const rows = result.figures.map((figure) => {
    const met = goalMet(figure);
    const verdict = met === null ? '' : met ? 'pass' : '**fail**';
    const goal = figure.goal === undefined ? '' : describeGoal(figure.goal);
    return `| \`${figure.name}\` | ${figure.description} | ${figure.value.toFixed(figure.digits)} | ${goal} | ${verdict} |`;
  });
  const details = Object.entries(result.details)
    .map(([key, value]) => `\`${key}\` ${String(value)}`)
    .join(', ');
  return [
    beginMarker(result.suite),
    `## ${result.suite}`,
    '',
    `Run ${when} on ${machine.os}, ${machine.cores} cores (${machine.cpuModel}), ${(machine.memoryBytes / gibibyte).toFixed(1)} GiB memory, Node ${machine.node}.`,
    `Goals met: ${withGoals.length - missed.length} of ${withGoals.length}${missed.length > 0 ? ` (missed: ${missed.join(', ')})` : ''}.`,
    '',
    '| figure | what | value | goal | result |',
    '|---|---|---:|---|---|',
    ...rows,
    '',
    `Details: ${details}.`,
    '',
    `Method. ${result.method}`,
    endMarker(result.suite),
  ].join('\n');
}

/** Replaces the suite's section of the benchmarks document at `path`, creating the file if needed. */
export async function writeSection(path: string, suite: string, section: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
    text = preamble;
  }
  const begin = text.indexOf(beginMarker(suite));
  const end = text.indexOf(endMarker(suite));
  let updated: string;
  if (begin >= 0 && end > begin) {
    updated = text.slice(0, begin) + section + text.slice(end + endMarker(suite).length);
  } else {
    updated = `${text.trimEnd()}\n\n${section}\n`;
  }
  const temporary = `${path}.tmp`;
  await writeFile(temporary, updated);
  await rename(temporary, path);
}
