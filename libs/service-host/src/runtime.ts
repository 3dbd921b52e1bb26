/**
 * V8 settings every Starlane process applies to itself at start (docs/operations.md, "Memory").
 */
import { setFlagsFromString } from 'node:v8';

/**
 * Old-generation headroom after a full collection, as a percentage of what survived it (V8's
 * `--heap-growing-percent`; V8 otherwise picks a factor between 1.1 and 4 from its own speed
 * estimates). A broker's live heap is small (about 15 MB) while requests in flight keep
 * promoting short-lived objects, and with V8's own factor the limit settles a few MB above the
 * live size: full collections then ran every 80 to 150 ms under a steady 20 MB/s of small
 * batches, each a pause of 5 to 15 ms, which is most of the end-to-end latency tail. With
 * 300 (limit = 4 × live) they ran seconds apart.
 */
export const heapGrowingPercent = 300;

/** Applies the settings above unless the process was started with its own. */
export function tuneRuntime(
  options: { execArgv?: readonly string[]; nodeOptions?: string; setFlags?: (flags: string) => void } = {},
): void {
  const { execArgv = process.execArgv, nodeOptions = process.env['NODE_OPTIONS'] ?? '', setFlags = setFlagsFromString } = options;
  const given = [...execArgv, ...nodeOptions.split(' ')].some((flag) => /^--heap[-_]growing[-_]percent/.test(flag));
  if (!given) setFlags(`--heap-growing-percent=${heapGrowingPercent}`);
}
