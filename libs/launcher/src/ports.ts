import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports are chosen from here up to just below the kernel's ephemeral range. A port from that
 * range (what `listen(0)` hands out) can be taken as the local port of any outgoing connection
 * on the machine between the choice and the process's listen, or while a process is down for a
 * restart on the same port; the kernel never takes one below the range on its own.
 */
export const chosenPortMin = 10_000;
/** Random ports tried before falling back to one the kernel picks. */
export const freePortAttemptsMax = 50;
/** Linux's default ephemeral range starts here (`net.ipv4.ip_local_port_range`). */
const ephemeralPortMinDefault = 32_768;

function ephemeralPortMin(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > chosenPortMin ? low : ephemeralPortMinDefault;
  } catch {
    return ephemeralPortMinDefault;
  }
}

/** Listens on `port` (0: any) on 127.0.0.1 and closes again; resolves the port, or undefined if it was taken. */
function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : undefined));
    });
  });
}

/** Picks a port that is free right now on 127.0.0.1, below the ephemeral range where it can. */
export async function freePort(): Promise<number> {
  const ceiling = ephemeralPortMin() - 1;
  for (let attempt = 0; attempt < freePortAttemptsMax; attempt += 1) {
    const candidate = chosenPortMin + Math.floor(Math.random() * (ceiling - chosenPortMin + 1));
    if ((await probe(candidate)) !== undefined) return candidate;
  }
  const port = await probe(0);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return port;
}
