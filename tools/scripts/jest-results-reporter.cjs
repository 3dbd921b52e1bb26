// Jest reporter that records a project's pass/fail counts in dist/test-results/<project>.json,
// so tools/scripts/test-all.mjs can print one closing line for the whole workspace (Nx
// restores the file from its cache when the test run itself is cached).
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

class ResultsReporter {
  constructor(globalConfig) {
    this.globalConfig = globalConfig;
  }

  onRunComplete(contexts, results) {
    const [context] = contexts;
    const project = context?.config.displayName?.name ?? context?.config.displayName ?? 'unknown';
    const dir = join(__dirname, '..', '..', 'dist', 'test-results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `${project}.json`),
      `${JSON.stringify({ project, passed: results.numPassedTests, failed: results.numFailedTests, skipped: results.numPendingTests + results.numTodoTests })}\n`,
    );
  }
}

module.exports = ResultsReporter;
