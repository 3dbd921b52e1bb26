import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { chosenPortMin, freePort } from './ports';

describe('freePort', () => {
  it('picks ports below the kernel ephemeral range, free to listen on', async () => {
    const ephemeralMin = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    for (let i = 0; i < 20; i += 1) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(chosenPortMin);
      expect(port).toBeLessThan(ephemeralMin);
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
