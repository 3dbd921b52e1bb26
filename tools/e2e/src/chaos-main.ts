/**
 * `npm run chaos`: the fault run of chaos.ts for longer. Duration from STARLANE_CHAOS_SECONDS
 * (default 300), seed from STARLANE_CHAOS_SEED (default 1). Progress goes to stderr; the last
 * line on stdout is one JSON object. Exits 1 if anything acknowledged was lost, duplicated or
 * stored without being sent, or if the cluster did not heal once faults stopped (liveness).
 */
import { killAll } from '@starlane/testing';
import { runChaos } from './chaos';

function numberFrom(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`${name} must be a positive number, got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  const seconds = numberFrom('STARLANE_CHAOS_SECONDS', 300);
  const seed = numberFrom('STARLANE_CHAOS_SEED', 1);
  const result = await runChaos({ durationMs: seconds * 1000, seed, progress: (message) => process.stderr.write(`[chaos] ${message}\n`) });
  const { acked, lost, duplicates, unexpected, faults, idlePhases, failoverMsP50, failoverMsMax, liveness } = result;
  process.stdout.write(`${JSON.stringify({ acked, lost, duplicates, unexpected, faults, idlePhases, failoverMsP50, failoverMsMax, liveness, seconds, seed })}\n`);
  if (lost > 0 || duplicates > 0 || unexpected > 0 || !liveness.ok) process.exitCode = 1;
}

main().catch(async (error: unknown) => {
  process.stderr.write(`[chaos] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await killAll();
  process.exit(1);
});
