/**
 * The operator's own checks, behind admission: a Topic CRD installed without the schema's
 * constraints (as an older or hand-edited CRD would be) lets zero partitions and bad topic names
 * through the API server, and the operator must refuse them itself with Ready=False, a reason
 * and one Warning event, write nothing more on later passes, and stay up. CRDs are
 * cluster-scoped, so this file has a local API of its own.
 */
import { starlaneCrds, topicCrd, type CrdDefinition, type OpenApiSchema } from '@starlane/crds';
import { killAll, startCluster, waitUntil, type AppProcess, type TestCluster } from '@starlane/testing';
import { Admin, KubeHarness, logMark, readyOf, startOperator, waitForPasses } from './test/harness';

jest.setTimeout(180_000);

/** The schema without `minimum`, `pattern` and `maxLength` anywhere in it. */
function unconstrained(schema: OpenApiSchema): OpenApiSchema {
  const { minimum: _minimum, pattern: _pattern, maxLength: _maxLength, ...rest } = schema;
  const properties = rest.properties === undefined ? undefined : Object.fromEntries(Object.entries(rest.properties).map(([key, value]) => [key, unconstrained(value)]));
  return { ...rest, ...(properties === undefined ? {} : { properties }) };
}

const laxTopicCrd: CrdDefinition = { ...topicCrd, spec: unconstrained(topicCrd.spec) };

let kube: KubeHarness;
let cluster: TestCluster;
let admin: Admin;
let operator: AppProcess;

beforeAll(async () => {
  [kube, cluster] = await Promise.all([KubeHarness.start(starlaneCrds.map((def) => (def.kind === 'Topic' ? laxTopicCrd : def))), startCluster({ storageNodes: 1 })]);
  admin = new Admin(cluster.gatewayAddress);
  operator = startOperator(kube);
  await operator.ready;
});

afterAll(async () => {
  admin?.close();
  await operator?.stop('SIGTERM');
  await cluster?.stop();
  await kube?.close();
  await killAll();
});

describe('operator: bad input that a CRD without schema constraints lets through', () => {
  it('refuses zero partitions, a name outside the pattern and a too-long name with a reason and one Warning event, and writes nothing more', async () => {
    const ns = 'lax';
    await kube.createNamespace(ns);
    await kube.createCluster(ns, 'main', cluster, 1);
    const tooLong = 'x'.repeat(250);
    const cases: { name: string; spec: Record<string, unknown>; reason: string; says: RegExp }[] = [
      { name: 'zero', spec: { partitions: 0 }, reason: 'InvalidPartitions', says: /spec.partitions must be an integer of at least 1, got 0/ },
      { name: 'bad-name', spec: { topicName: 'bad name!', partitions: 1 }, reason: 'InvalidTopicName', says: /only ASCII letters.*set spec.topicName/ },
      { name: 'too-long', spec: { topicName: tooLong, partitions: 1 }, reason: 'InvalidTopicName', says: /250 characters, the maximum is 249.*set spec.topicName/ },
    ];
    // Admission lets them all in: the schema that would answer 422 is not there.
    for (const bad of cases) await kube.applyTopic(ns, bad.name, { clusterRef: { name: 'main' }, ...bad.spec });
    for (const bad of cases) {
      const topic = await kube.waitForReady(ns, bad.name, 'False', bad.reason);
      expect(readyOf(topic)?.message).toMatch(bad.says);
    }
    await waitUntil('one Warning event per refused Topic', async () => {
      const events = await kube.events(ns);
      return cases.every((bad) => events.some((event) => event.involvedObject.name === bad.name && event.reason === bad.reason && event.type === 'Warning'));
    }, 30_000);

    // Two more passes of each (resyncs) provably ran, and wrote nothing: no retry storm, no second event.
    const writesBefore = kube.topicWrites(ns);
    await waitForPasses(operator, logMark(operator), ns, cases.map((bad) => bad.name), 2);
    expect(kube.topicWrites(ns)).toBe(writesBefore);
    const events = await kube.events(ns);
    for (const bad of cases) expect(events.filter((event) => event.involvedObject.name === bad.name)).toEqual([expect.objectContaining({ reason: bad.reason, type: 'Warning' })]);
    expect(operator.child.exitCode).toBeNull();
    for (const name of ['zero', 'bad name!', tooLong]) expect(await admin.describe(name)).toBeUndefined();
  });
});
