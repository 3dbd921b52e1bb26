/**
 * For tests that run a whole local cluster: a base port whose every port of the layout is free
 * right now (the system's free ports are chosen at run time, never fixed in a test).
 */
import { createServer } from 'node:net';
import { freePort } from '@starlane/launcher';
import { StarlaneError } from '@starlane/model';
import { layoutPorts, portSpanMax } from './layout';

/** How many candidate bases to try before giving up (each is one free port the system chose). */
export const freePortBaseAttemptsMax = 50;

export async function freePortBase(options: { operator?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < freePortBaseAttemptsMax; attempt++) {
    const base = await freePort();
    if (base + portSpanMax > 65535) continue;
    if ((await Promise.all(layoutPorts(base, options).map(isFree))).every(Boolean)) return base;
  }
  throw new StarlaneError('UNKNOWN_SERVER_ERROR', `no base port with every port of the layout free after ${freePortBaseAttemptsMax} tries`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
