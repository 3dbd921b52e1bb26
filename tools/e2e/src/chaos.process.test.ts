/**
 * A bounded fault run (see chaos.ts): about half a minute of leader kills, a paused follower
 * and a killed active controller under continuous acks=all producers; nothing acknowledged
 * may be lost, nothing stored twice, nothing stored that was never sent. `npm run chaos` runs
 * the same thing for longer.
 */
import { killAll } from '@starlane/testing';
import { runChaos } from './chaos';

jest.setTimeout(240_000);

afterAll(async () => {
  await killAll();
});

it('loses no acknowledged write through leader kills, a paused follower and a controller failover', async () => {
  const result = await runChaos({ durationMs: 25_000, seed: 7 });
  process.stdout.write(`${JSON.stringify({ acked: result.acked, lost: result.lost, duplicates: result.duplicates, faults: result.faults, failoverMsP50: result.failoverMsP50, failoverMsMax: result.failoverMsMax })}\n`);
  expect(result.faults).toBeGreaterThanOrEqual(3);
  expect(result.faultLog.some((line) => line.includes('SIGKILL storage-node'))).toBe(true);
  expect(result.faultLog.some((line) => line.includes('SIGSTOP'))).toBe(true);
  expect(result.faultLog.some((line) => line.includes('active controller'))).toBe(true);
  expect(result.acked).toBeGreaterThan(0);
  expect(result.lost).toBe(0);
  expect(result.duplicates).toBe(0);
  expect(result.unexpected).toBe(0);
  // Every acknowledged record is stored, so the topic holds at least as many.
  expect(result.stored).toBeGreaterThanOrEqual(result.acked);
});
