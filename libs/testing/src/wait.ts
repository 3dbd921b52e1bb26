/**
 * Waiting on a condition another process decides (an offset moving, a process exiting), for
 * process tests: the condition is asked again every `intervalMs` until it holds or
 * `timeoutMs` passes, never a sleep for a guessed time.
 */

/** Pause between two looks at a condition. */
export const waitIntervalMsDefault = 100;

/**
 * Resolves with the first value of `check` that is not undefined or false; rejects after
 * `timeoutMs` naming `what`, with the last failure of `check` as its cause.
 */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, intervalMs = waitIntervalMsDefault): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
