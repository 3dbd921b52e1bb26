/**
 * The bench's own errors. Both end the run; main.ts maps each to an exit status.
 * Broken invariants of a measurement are assertions (`assert` from @starlane/model) instead.
 */

/** A bad command line: one line on stderr, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The run could not measure (a child process died or hung): exit status 1. */
export class RunError extends Error {
  override readonly name = 'RunError';
}
