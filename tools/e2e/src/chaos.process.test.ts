/**
 * A bounded fault run (see chaos.ts): under continuous acks=all producers, a leader kill, a
 * paused follower and a killed active controller; between them phases with no writes at all,
 * each with a leader SIGTERMed and restarted, a preferred-leader election and an idle leader
 * SIGSTOPped until it loses leadership. Nothing acknowledged may be lost, nothing stored twice,
 * nothing stored that was never sent; and once faults stop the cluster must heal (liveness.ts):
 * whole ISRs within the bound, no process busy, the under-replicated count 0 on every node.
 * `npm run chaos` runs the same thing for longer.
 */
import { killAll } from '@starlane/testing';
import { runChaos } from './chaos';

jest.setTimeout(300_000);

afterAll(async () => {
  await killAll();
});

it('loses nothing and heals through leader kills, a paused follower, a controller failover and leadership churn without writes', async () => {
  // The shortest run: each write fault once, with an idle phase after the first two.
  const result = await runChaos({ durationMs: 0, seed: 7 });
  const { acked, lost, duplicates, unexpected, faults, idlePhases, failoverMsP50, failoverMsMax, liveness } = result;
  process.stdout.write(`${JSON.stringify({ acked, lost, duplicates, unexpected, faults, idlePhases, failoverMsP50, failoverMsMax, liveness })}\n${result.faultLog.join('\n')}\n`);
  const logged = (pattern: RegExp): boolean => result.faultLog.some((line) => pattern.test(line));
  expect(logged(/SIGKILL storage-node-\d \(leader of/)).toBe(true);
  expect(logged(/SIGSTOP storage-node-\d \(follower of/)).toBe(true);
  expect(logged(/SIGKILL controller-\d \(active controller\)/)).toBe(true);
  expect(result.idlePhases).toBeGreaterThanOrEqual(2);
  expect(logged(/SIGTERM storage-node-\d \(leader of .*no writes\)/)).toBe(true);
  expect(logged(/preferred-leader election: .*no writes/)).toBe(true);
  expect(logged(/SIGSTOP storage-node-\d \(idle leader of/)).toBe(true);
  expect(result.acked).toBeGreaterThan(0);
  expect(result.lost).toBe(0);
  expect(result.duplicates).toBe(0);
  expect(result.unexpected).toBe(0);
  // Every acknowledged record is stored, so the topic holds at least as many.
  expect(result.stored).toBeGreaterThanOrEqual(result.acked);
  // Each liveness check on its own, so a failure names which one and why.
  expect(liveness.isr.short).toEqual([]);
  expect(liveness.busy.problems).toEqual([]);
  expect(liveness.underReplicated.problems).toEqual([]);
  expect(liveness.ok).toBe(true);
});
