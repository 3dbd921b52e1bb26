import { killAll, startApp } from './process';

const node = process.execPath;
afterAll(killAll);

describe('startApp', () => {
  it('resolves ready from the JSON ready event and reports a clean exit', async () => {
    const script = `
      process.on('SIGTERM', () => process.exit(0));
      console.log('not json');
      console.log(JSON.stringify({ event: 'ready', grpcAddress: '127.0.0.1:1', metricsAddress: '127.0.0.1:2', services: ['a'] }));
      setInterval(() => {}, 1000);`;
    const app = startApp({ name: 'fake', command: node, args: ['-e', script] });
    await expect(app.ready).resolves.toEqual({ grpcAddress: '127.0.0.1:1', metricsAddress: '127.0.0.1:2', services: ['a'] });
    const stopped = await app.stop('SIGTERM');
    expect({ code: stopped.code, signal: stopped.signal }).toEqual({ code: 0, signal: null });
    expect(app.stdoutLines()[0]).toBe('not json');
  });

  it('rejects ready with the stderr text when the process exits first', async () => {
    const app = startApp({ name: 'broken', command: node, args: ['-e', "process.stderr.write('boom\\n'); process.exit(3)"] });
    await expect(app.ready).rejects.toThrow(/broken exited \(3\) before it was ready\nstderr:\nboom/);
    expect(await app.exited).toEqual({ code: 3, signal: null });
  });

  it('kills a process that ignores SIGTERM once the timeout passes', async () => {
    const app = startApp({ name: 'stubborn', command: node, args: ['-e', "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)"] });
    await new Promise<void>((resolve) => app.child.stdout?.once('data', () => resolve()));
    const stopped = await app.stop('SIGTERM', 200);
    expect(stopped.signal).toBe('SIGKILL');
  });
});
