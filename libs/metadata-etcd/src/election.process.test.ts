import { startEtcd, type EtcdProcess } from '@starlane/launcher';
import type { Etcd3, Namespace } from 'etcd3';
import { clusterNamespace, connectEtcd } from './client';
import { ControllerElection, decodeLeader, electionKey, type ControllerLeadership, type ElectedController } from './election';

jest.setTimeout(30_000);

/** etcd's minimum with the test member's timing; see startEtcd. */
const leaseTtlMs = 1000;
/** etcd checks lease expiry every 500 ms; the rest is scheduling slack. */
const expiryLateMsMax = 500 + 700;

let etcd: EtcdProcess;
const clients: Etcd3[] = [];
const elections: ControllerElection[] = [];
let prefixes = 0;

beforeAll(async () => {
  etcd = await startEtcd();
});

afterEach(async () => {
  await Promise.all(elections.splice(0).map((election) => election.close().catch(() => undefined)));
  for (const client of clients.splice(0)) client.close();
});

afterAll(async () => {
  await etcd?.stop();
});

/** A prefix no other test uses. */
function freshPrefix(): string {
  prefixes += 1;
  return `/starlane-test/election-${prefixes}/`;
}

/** A candidate with an etcd client of its own, as a controller process has. */
function candidate(prefix: string, controllerId: number): { election: ControllerElection; client: Etcd3; namespace: Namespace } {
  const client = connectEtcd({ endpoints: [etcd.endpoint] });
  clients.push(client);
  const namespace = clusterNamespace(client, prefix);
  const election = new ControllerElection({ namespace, candidate: { controllerId, host: '127.0.0.1', port: 9100 + controllerId }, leaseTtlMs });
  elections.push(election);
  election.start();
  return { election, client, namespace };
}

function leaderIs(election: ControllerElection, predicate: (leader: ElectedController | undefined) => boolean): Promise<ElectedController | undefined> {
  if (predicate(election.leader())) return Promise.resolve(election.leader());
  return new Promise((resolve) => {
    const off = election.onLeaderChange((leader) => {
      if (!predicate(leader)) return;
      off();
      resolve(leader);
    });
  });
}

/** Whichever campaign wins first, with its index. */
async function firstOf(campaigns: Promise<ControllerLeadership>[]): Promise<{ index: number; term: ControllerLeadership }> {
  return Promise.race(campaigns.map((campaign, index) => campaign.then((term) => ({ index, term }))));
}

describe('ControllerElection', () => {
  it('elects one of two candidates, and both observe it with its address', async () => {
    const prefix = freshPrefix();
    const a = candidate(prefix, 1);
    const b = candidate(prefix, 2);
    const campaigns = [a.election.campaign(), b.election.campaign()];
    const { index, term } = await firstOf(campaigns);
    const winner = { controllerId: index + 1, host: '127.0.0.1', port: 9101 + index, controllerEpoch: 0 };
    expect(term.candidate).toEqual({ controllerId: winner.controllerId, host: winner.host, port: winner.port });
    await expect(leaderIs(a.election, (leader) => leader !== undefined)).resolves.toEqual(winner);
    await expect(leaderIs(b.election, (leader) => leader !== undefined)).resolves.toEqual(winner);
    // The other is still waiting: there is one leader.
    const raw = await a.namespace.get(electionKey).buffer();
    expect(raw === null ? undefined : decodeLeader(raw)).toEqual(winner);
    expect(term.holding).toBe(true);
    void campaigns[1 - index]?.catch(() => undefined);
  });

  it('hands over at once when the leader resigns', async () => {
    const prefix = freshPrefix();
    const a = candidate(prefix, 1);
    const aTerm = await a.election.campaign();
    const b = candidate(prefix, 2);
    const bCampaign = b.election.campaign();
    await leaderIs(b.election, (leader) => leader?.controllerId === 1);
    const resignedAt = performance.now();
    await aTerm.resign();
    await expect(aTerm.lost).resolves.toMatchObject({ code: 'NOT_CONTROLLER' });
    const bTerm = await bCampaign;
    expect(performance.now() - resignedAt).toBeLessThan(leaseTtlMs);
    expect(bTerm.holding).toBe(true);
    await expect(leaderIs(a.election, (leader) => leader?.controllerId === 2)).resolves.toMatchObject({ controllerId: 2 });
  });

  it('a standby takes over within the lease TTL when the leader dies without resigning', async () => {
    const prefix = freshPrefix();
    const a = candidate(prefix, 1);
    const aTerm = await a.election.campaign();
    const b = candidate(prefix, 2);
    const bCampaign = b.election.campaign();
    await leaderIs(b.election, (leader) => leader?.controllerId === 1);
    // The leader's process is gone: its connections close and nothing renews its lease.
    const diedAt = performance.now();
    a.client.close();
    const bTerm = await bCampaign;
    const tookMs = performance.now() - diedAt;
    expect(tookMs).toBeLessThan(leaseTtlMs + expiryLateMsMax);
    expect(bTerm.holding).toBe(true);
    // The dead leader, had it lived on cut off from etcd, would have stepped down by its own clock.
    await expect(aTerm.lost).resolves.toMatchObject({ code: 'NOT_CONTROLLER', message: expect.stringContaining('within its 1000 ms TTL') });
  });

  it('reports a lost lease at once when etcd ends it', async () => {
    const prefix = freshPrefix();
    const a = candidate(prefix, 1);
    const term = await a.election.campaign();
    const admin = connectEtcd({ endpoints: [etcd.endpoint] });
    clients.push(admin);
    const revokedAt = performance.now();
    await admin.leaseClient.leaseRevoke({ ID: term.leaseId });
    await expect(term.lost).resolves.toMatchObject({ code: 'NOT_CONTROLLER' });
    // Seen through the watch on the key, well before a keepalive would tell.
    expect(performance.now() - revokedAt).toBeLessThan(leaseTtlMs / 3);
    expect(term.holding).toBe(false);
  });

  it('steps down by its own clock when etcd stops answering', async () => {
    const own = await startEtcd();
    try {
      const client = connectEtcd({ endpoints: [own.endpoint], requestTimeoutMs: 500 });
      clients.push(client);
      const election = new ControllerElection({ namespace: clusterNamespace(client, freshPrefix()), candidate: { controllerId: 1, host: '127.0.0.1', port: 9101 }, leaseTtlMs });
      elections.push(election);
      const term = await election.campaign();
      const pausedAt = performance.now();
      own.pause();
      await expect(term.lost).resolves.toMatchObject({ code: 'NOT_CONTROLLER' });
      // No later than a TTL after the last keepalive was sent, so before etcd could expire it.
      expect(performance.now() - pausedAt).toBeLessThan(leaseTtlMs + 50);
      own.resume();
    } finally {
      await own.kill();
    }
  });

  it('publishes the active controller epoch to observers', async () => {
    const prefix = freshPrefix();
    const a = candidate(prefix, 1);
    const b = candidate(prefix, 2);
    const term = await a.election.campaign();
    await term.proclaim(7);
    await expect(leaderIs(b.election, (leader) => leader?.controllerEpoch === 7)).resolves.toEqual({ controllerId: 1, host: '127.0.0.1', port: 9101, controllerEpoch: 7 });
  });

  it('a closed election stops campaigning', async () => {
    const prefix = freshPrefix();
    const a = candidate(prefix, 1);
    await a.election.campaign();
    const b = candidate(prefix, 2);
    const waiting = b.election.campaign();
    await leaderIs(b.election, (leader) => leader?.controllerId === 1);
    await b.election.close();
    await expect(waiting).rejects.toMatchObject({ code: 'NOT_CONTROLLER' });
  });
});
