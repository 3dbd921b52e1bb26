import { describeEvent, prettyLogLine } from './report';

describe('prettyLogLine', () => {
  it('keeps the message and the fields that matter, with the level unless info', () => {
    const line = JSON.stringify({ level: 'warn', time: '2024-01-01T00:00:00Z', pid: 7, service: 'storage-node', hostname: 'h', msg: 'registration refused', attempt: 2 });
    expect(prettyLogLine(line)).toBe('WARN registration refused {"attempt":2}');
    expect(prettyLogLine(JSON.stringify({ level: 'info', msg: 'ready', pid: 1 }))).toBe('ready');
  });

  it('passes lines that are not JSON objects through', () => {
    expect(prettyLogLine('Error: boom')).toBe('Error: boom');
    expect(prettyLogLine('42')).toBe('42');
    expect(prettyLogLine('null')).toBe('null');
  });
});

describe('describeEvent', () => {
  it('says which process died, how, and when it restarts; and when it crash-loops', () => {
    expect(describeEvent({ kind: 'exited', name: 'storage-node-2', status: { code: null, signal: 'SIGKILL' }, uptimeMs: 12_345, restart: { delayMs: 1_000, failuresInARow: 1, crashLooping: false } })).toEqual({
      name: 'storage-node-2',
      text: 'exited unexpectedly (signal SIGKILL) after 12.3 s; restarting in 1 s',
    });
    expect(describeEvent({ kind: 'exited', name: 'gateway', status: { code: 1, signal: null }, uptimeMs: 800, restart: { delayMs: 30_000, failuresInARow: 7, crashLooping: true } })?.text).toBe(
      'exited unexpectedly (exit code 1) after 0.8 s; restarting in 30 s; crash-looping (7 failures in a row), retrying every 30 s until a run lasts 60 s',
    );
  });

  it('reports starts with their pid and leaves first readiness to the banner', () => {
    expect(describeEvent({ kind: 'started', name: 'controller', pid: 4242, restarts: 0 })?.text).toBe('started (pid 4242)');
    expect(describeEvent({ kind: 'started', name: 'controller', pid: 4243, restarts: 2 })?.text).toBe('started (pid 4243, restart 2)');
    expect(describeEvent({ kind: 'ready', name: 'controller', restarts: 0 })).toBeUndefined();
    expect(describeEvent({ kind: 'ready', name: 'controller', restarts: 2 })?.text).toBe('serving again (restart 2)');
  });
});
