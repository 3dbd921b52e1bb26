#!/usr/bin/env node
// The workspace test command (`npm test`): the contract check, lint (module boundaries
// included), typecheck and every project's Jest suites through Nx, then one closing line
// summing the Jest results of all projects. Exits with Nx's status. With CI set, nothing is
// taken from Nx's cache.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const resultsDir = join(root, 'dist', 'test-results');
rmSync(resultsDir, { recursive: true, force: true });

// CI proves the commit from scratch: no task result may come from a cache, whoever filled it.
const cacheFlags = process.env.CI ? ['--skip-nx-cache'] : [];
const nx = spawnSync(
  join(root, 'node_modules', '.bin', 'nx'),
  ['run-many', '-t', 'proto-check', 'lint', 'typecheck', 'test', '--outputStyle=stream', '--parallel=2', ...cacheFlags, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' } },
);

const totals = { passed: 0, failed: 0, skipped: 0, projects: 0 };
if (existsSync(resultsDir)) {
  for (const file of readdirSync(resultsDir).filter((name) => name.endsWith('.json'))) {
    const result = JSON.parse(readFileSync(join(resultsDir, file), 'utf8'));
    totals.passed += result.passed;
    totals.failed += result.failed;
    totals.skipped += result.skipped;
    totals.projects += 1;
  }
}
console.log(`\nJest results of ${totals.projects} projects:`);
console.log(`jest: ${totals.passed} passed, ${totals.failed} failed${totals.skipped > 0 ? `, ${totals.skipped} skipped` : ''}`);
process.exit(nx.status ?? 1);
