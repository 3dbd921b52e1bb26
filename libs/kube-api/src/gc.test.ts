// Owner references, garbage collection, deletecollection and namespace termination over HTTP. The collector
// runs right after the write that removes an owner, so the next request already sees its result.
import { KubeApiServer } from './server';
import { type KubeObject } from './store';

describe('deletion with owner references', () => {
  let server: KubeApiServer;
  beforeEach(async () => {
    server = await KubeApiServer.start();
  });
  afterEach(async () => {
    await server.close();
  });

  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: KubeObject }> => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as KubeObject };
  };
  const cm = '/api/v1/namespaces/default/configmaps';
  const create = async (name: string, metadata: KubeObject = {}, base = cm): Promise<KubeObject> => {
    const created = await call('POST', base, { metadata: { name, ...metadata } });
    expect(created.status).toBe(201);
    return created.body;
  };
  const ref = (owner: KubeObject, extra: KubeObject = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata.name, uid: owner.metadata.uid, ...extra });
  const exists = async (path: string): Promise<KubeObject | undefined> => {
    const got = await call('GET', path);
    return got.status === 200 ? got.body : undefined;
  };

  it('Background (the default): dependents go after the owner, down the chain; one with another live owner only loses the reference', async () => {
    const owner = await create('owner');
    const other = await create('other');
    const child = await create('child', { ownerReferences: [ref(owner)] });
    await create('grandchild', { ownerReferences: [ref(child)] });
    await create('shared', { ownerReferences: [ref(owner), ref(other)] });
    const deleted = await call('DELETE', `${cm}/owner`);
    expect(deleted.status).toBe(200);
    expect(await exists(`${cm}/owner`)).toBeUndefined();
    expect(await exists(`${cm}/child`)).toBeUndefined();
    expect(await exists(`${cm}/grandchild`)).toBeUndefined();
    expect((await exists(`${cm}/shared`))?.metadata.ownerReferences).toEqual([ref(other)]);
  });

  it('Foreground: the owner waits with the foregroundDeletion finalizer until its blocking dependents are gone', async () => {
    const owner = await create('owner');
    await create('blocker', { ownerReferences: [ref(owner, { blockOwnerDeletion: true })], finalizers: ['example.com/keep'] });
    await create('loose', { ownerReferences: [ref(owner)] });
    const deleted = await call('DELETE', `${cm}/owner`, { propagationPolicy: 'Foreground' });
    expect(deleted.status).toBe(200);
    expect(deleted.body.metadata).toMatchObject({ finalizers: ['foregroundDeletion'], deletionTimestamp: expect.any(String) });
    expect(await exists(`${cm}/loose`)).toBeUndefined();
    const blocker = await exists(`${cm}/blocker`);
    expect(blocker?.metadata.deletionTimestamp).toEqual(expect.any(String));
    expect((await exists(`${cm}/owner`))?.metadata.finalizers).toEqual(['foregroundDeletion']);
    // Adding a finalizer to the waiting owner is refused like on any object being deleted.
    const owned = (await exists(`${cm}/owner`)) as KubeObject;
    expect((await call('PUT', `${cm}/owner`, { ...owned, metadata: { ...owned.metadata, finalizers: ['foregroundDeletion', 'x/y'] } })).status).toBe(422);

    const released = await fetch(`${server.url}${cm}/blocker`, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { finalizers: null } }) });
    expect(released.status).toBe(200);
    expect(await exists(`${cm}/blocker`)).toBeUndefined();
    expect(await exists(`${cm}/owner`)).toBeUndefined();
  });

  it('Orphan (and the older orphanDependents: true): the dependents stay, without references to the owner', async () => {
    const owner = await create('owner');
    const keep = await create('keep');
    await create('orphan', { ownerReferences: [ref(owner)] });
    await create('half', { ownerReferences: [ref(owner), ref(keep)] });
    expect((await call('DELETE', `${cm}/owner`, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Orphan' })).status).toBe(200);
    expect(await exists(`${cm}/owner`)).toBeUndefined();
    expect((await exists(`${cm}/orphan`))?.metadata.ownerReferences).toBeUndefined();
    expect((await exists(`${cm}/half`))?.metadata.ownerReferences).toEqual([ref(keep)]);

    const second = await create('second');
    await create('kept', { ownerReferences: [ref(second)] });
    expect((await call('DELETE', `${cm}/second?orphanDependents=true`)).status).toBe(200);
    expect((await exists(`${cm}/kept`))?.metadata.ownerReferences).toBeUndefined();
    const both = await call('DELETE', `${cm}/kept?orphanDependents=true`, { propagationPolicy: 'Background' });
    expect(both.body).toMatchObject({ code: 400, message: 'orphanDependents and propagationPolicy cannot both be set' });
    expect((await call('DELETE', `${cm}/kept`, { propagationPolicy: 'Sideways' })).status).toBe(400);
  });

  it('deletes an object written with only absent owners, and drops references to absent owners next to a present one', async () => {
    const owner = await create('owner');
    const ghost = { apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: '00000000-0000-0000-0000-000000000000' };
    await create('orphaned', { ownerReferences: [ghost] });
    await create('mixed', { ownerReferences: [ghost, ref(owner)] });
    expect(await exists(`${cm}/orphaned`)).toBeUndefined();
    expect((await exists(`${cm}/mixed`))?.metadata.ownerReferences).toEqual([ref(owner)]);
    // Only a change of the references is looked at again; the owner still exists, so nothing goes.
    const mixed = (await exists(`${cm}/mixed`)) as KubeObject;
    expect((await call('PUT', `${cm}/mixed`, { ...mixed, data: { a: '1' } })).status).toBe(200);
    expect((await exists(`${cm}/mixed`))?.data).toEqual({ a: '1' });
  });

  it('deletecollection deletes the selected objects (with their dependents) and answers them as a list; dryRun=All deletes nothing', async () => {
    const a = await create('a', { labels: { app: 'x' } });
    await create('b', { labels: { app: 'x' } });
    await create('c', { labels: { app: 'y' } });
    await create('owned', { ownerReferences: [ref(a)] }, '/api/v1/namespaces/default/secrets');
    expect((await call('DELETE', `${cm}?labelSelector=app%3Dx&dryRun=All`)).status).toBe(200);
    expect((await call('DELETE', `${cm}/c`, { dryRun: ['All'] })).status).toBe(200);
    expect(((await call('GET', cm)).body.items as KubeObject[]).map((o) => o.metadata.name)).toEqual(['a', 'b', 'c']);
    const deleted = await call('DELETE', `${cm}?labelSelector=app%3Dx`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ kind: 'ConfigMapList', apiVersion: 'v1' });
    expect((deleted.body.items as KubeObject[]).map((o) => o.metadata.name)).toEqual(['a', 'b']);
    expect(((await call('GET', cm)).body.items as KubeObject[]).map((o) => o.metadata.name)).toEqual(['c']);
    expect(await exists('/api/v1/namespaces/default/secrets/owned')).toBeUndefined();
    expect((await call('DELETE', '/api/v1/configmaps')).status).toBe(405);
    expect((await call('DELETE', '/api/v1/namespaces')).status).toBe(405);
    expect(await exists('/api/v1/namespaces/default')).toBeDefined();
  });

  it('a deleted namespace is Terminating (no new content) until its objects, finalizers included, are gone', async () => {
    expect((await call('POST', '/api/v1/namespaces', { metadata: { name: 'team' } })).status).toBe(201);
    await create('plain', {}, '/api/v1/namespaces/team/configmaps');
    await create('held', { finalizers: ['example.com/keep'] }, '/api/v1/namespaces/team/secrets');
    const deleted = await call('DELETE', '/api/v1/namespaces/team');
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ status: { phase: 'Terminating' }, spec: { finalizers: ['kubernetes'] }, metadata: { deletionTimestamp: expect.any(String) } });
    expect(await exists('/api/v1/namespaces/team/configmaps/plain')).toBeUndefined();
    const refused = await call('POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'late' } });
    expect(refused.body).toMatchObject({ code: 403, reason: 'Forbidden', message: 'configmaps "late" is forbidden: unable to create new content in namespace team because it is being terminated' });
    expect((await exists('/api/v1/namespaces/team'))?.status.phase).toBe('Terminating');
    await fetch(`${server.url}/api/v1/namespaces/team/secrets/held`, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { finalizers: [] } }) });
    expect(await exists('/api/v1/namespaces/team')).toBeUndefined();
    expect((await call('DELETE', '/api/v1/namespaces/kube-system')).body).toMatchObject({ code: 403, reason: 'Forbidden', message: 'namespaces "kube-system" is forbidden: this namespace may not be deleted' });
    // An empty namespace goes at once.
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'empty' } });
    await call('DELETE', '/api/v1/namespaces/empty');
    expect(await exists('/api/v1/namespaces/empty')).toBeUndefined();
  });
});
