import { startEtcd, type EtcdProcess } from '@starlane/launcher';
import type { Etcd3 } from 'etcd3';
import { clusterNamespace, connectEtcd } from './client';
import { ControllerRegistration, registrationExpirySlackMs } from './registration';

jest.setTimeout(30_000);

/** etcd's minimum with the test member's timing; see startEtcd. */
const leaseTtlMs = 1000;

let etcd: EtcdProcess;
const clients: Etcd3[] = [];
const registrations: ControllerRegistration[] = [];
let prefixes = 0;

beforeAll(async () => {
  etcd = await startEtcd();
});

afterEach(async () => {
  await Promise.all(registrations.splice(0).map((registration) => registration.close()));
  for (const client of clients.splice(0)) client.close();
});

afterAll(async () => {
  await etcd?.stop();
});

function freshPrefix(): string {
  prefixes += 1;
  return `/starlane-test/registration-${prefixes}/`;
}

/** A controller process's registration, with an etcd client of its own. */
function registration(prefix: string, controllerId: number, incarnationId: string, port = 9100 + controllerId): ControllerRegistration {
  const client = connectEtcd({ endpoints: [etcd.endpoint] });
  clients.push(client);
  const made = new ControllerRegistration({ namespace: clusterNamespace(client, prefix), endpoint: { controllerId, host: '127.0.0.1', port }, incarnationId, leaseTtlMs });
  registrations.push(made);
  return made;
}

describe('ControllerRegistration', () => {
  it('lists every registered controller by id', async () => {
    const prefix = freshPrefix();
    await registration(prefix, 2, 'b').claim();
    await registration(prefix, 0, 'a').claim();
    const listed = await registration(prefix, 1, 'c').list();
    expect(listed).toEqual([
      { controllerId: 0, host: '127.0.0.1', port: 9100, incarnationId: 'a', leaseTtlMs },
      { controllerId: 2, host: '127.0.0.1', port: 9102, incarnationId: 'b', leaseTtlMs },
    ]);
  });

  it('refuses an id a live process holds with CONFIG_INVALID, after waiting out the holder’s lease', async () => {
    const prefix = freshPrefix();
    await registration(prefix, 1, 'first').claim();
    const startedAt = performance.now();
    const second = registration(prefix, 1, 'second', 9200).claim();
    await expect(second).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(second).rejects.toHaveProperty('message', expect.stringMatching(/^--controller-id 1 is in use: the controller at 127\.0\.0\.1:9101 \(incarnation first\) has held etcd key controllers\/1 for the last 2500 ms; give every controller/));
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(leaseTtlMs + registrationExpirySlackMs - 50);
    // The first is untouched.
    expect((await registration(prefix, 9, 'reader').list()).map((listed) => listed.incarnationId)).toEqual(['first']);
  });

  it('takes over the id of a process that is gone: at once after a clean close, within a lease TTL after a crash', async () => {
    const prefix = freshPrefix();
    const first = registration(prefix, 1, 'first');
    await first.claim();
    await first.close();
    await registration(prefix, 1, 'second').claim();

    // A crash: the holder's client goes away without revoking; its lease expires by itself.
    clients.at(-1)?.close();
    const restarted = registration(prefix, 1, 'third');
    await expect(restarted.claim()).resolves.toBeUndefined();
    expect((await restarted.list()).map((listed) => listed.incarnationId)).toEqual(['third']);
  });
});
