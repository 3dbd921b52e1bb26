// Client input the server must answer with a Status, never by crashing or by writing into shared prototypes.
import { connect } from 'node:net';
import { KubeApiServer, requestBodyBytesMax } from './server';
import { createWidgetCrd, widgetCrd } from './test-fixtures';

type Status = { kind: string; code: number; reason: string; message: string };

/** Sends raw bytes and reads the answer until the server closes the connection. */
function rawRequest(url: string, text: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(text));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('client input', () => {
  let server: KubeApiServer;
  beforeEach(async () => {
    server = await KubeApiServer.start();
  });
  afterEach(async () => {
    await server.close();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  const send = async (method: string, path: string, contentType: string, body: string | Buffer): Promise<{ status: number; body: Status }> => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { 'Content-Type': contentType }, body });
    return { status: res.status, body: (await res.json()) as Status };
  };
  const stillAnswers = async (): Promise<void> => {
    expect((await fetch(`${server.url}/api/v1/namespaces/default`)).status).toBe(200);
  };

  it('answers a request line whose URL does not parse with 400 and keeps serving', async () => {
    const answer = await rawRequest(server.url, 'GET http://[x/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    // The body arrives chunked: the Status is the one JSON object in it.
    const status = JSON.parse(answer.slice(answer.indexOf('{'), answer.lastIndexOf('}') + 1)) as Status;
    expect(status).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
    expect(status.message).toContain('http://[x/');
    await stillAnswers();
  });

  it('answers a malformed JSON body, a malformed YAML apply body and an oversized body with Status objects', async () => {
    const configMaps = '/api/v1/namespaces/default/configmaps';
    expect(await send('POST', configMaps, 'application/json', '{"metadata":')).toMatchObject({ status: 400, body: { reason: 'BadRequest', message: 'the body of the request is not valid JSON' } });
    expect(await send('PATCH', `${configMaps}/c?fieldManager=m`, 'application/apply-patch+yaml', 'metadata: {name: [c\n')).toMatchObject({ status: 400, body: { reason: 'BadRequest', message: 'the body of the request is not valid YAML' } });
    const huge = Buffer.alloc(requestBodyBytesMax + 1, 'a');
    expect(await send('POST', configMaps, 'application/json', huge)).toMatchObject({ status: 413, body: { code: 413, reason: 'RequestEntityTooLarge' } });
    await stillAnswers();
  });

  it('refuses JSON patches that are not operations with 400', async () => {
    await send('POST', '/api/v1/namespaces/default/configmaps', 'application/json', JSON.stringify({ metadata: { name: 'c' }, data: { a: '1' } }));
    const path = '/api/v1/namespaces/default/configmaps/c';
    for (const ops of [[null], [{ op: 'add', path: 7, value: 'x' }], [{ op: 'move', path: '/data/b', from: 3 }], [42]]) {
      const answer = await send('PATCH', path, 'application/json-patch+json', JSON.stringify(ops));
      expect({ ops, status: answer.status, reason: answer.body.reason }).toEqual({ ops, status: 400, reason: 'BadRequest' });
    }
    await stillAnswers();
  });

  it('keeps __proto__, constructor and prototype out of Object.prototype in JSON patches, merge patches and apply', async () => {
    await createWidgetCrd(server.url);
    const configMaps = '/api/v1/namespaces/default/configmaps';
    await send('POST', configMaps, 'application/json', JSON.stringify({ metadata: { name: 'c' }, data: { a: '1' } }));
    const jsonPatches = [
      [{ op: 'add', path: '/__proto__/polluted', value: 'yes' }],
      [{ op: 'add', path: '/data/__proto__', value: { polluted: 'yes' } }],
      [{ op: 'add', path: '/constructor/prototype/polluted', value: 'yes' }],
      [{ op: 'copy', from: '/data', path: '/__proto__/polluted' }],
    ];
    for (const ops of jsonPatches) {
      const answer = await send('PATCH', `${configMaps}/c`, 'application/json-patch+json', JSON.stringify(ops));
      expect({ ops, status: answer.status }).toEqual({ ops, status: 400 });
      expect(answer.body.message).toMatch(/__proto__|constructor|prototype/u);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
    const merge = await send('PATCH', `${configMaps}/c`, 'application/merge-patch+json', '{"data":{"__proto__":{"polluted":"yes"}}}');
    expect(merge.status).toBe(400);
    const apply = await send(
      'PATCH',
      `${configMaps}/applied?fieldManager=m`,
      'application/apply-patch+yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  __proto__:\n    polluted: "yes"\n',
    );
    expect(apply).toMatchObject({ status: 400, body: { reason: 'BadRequest' } });
    expect(apply.body.message).toContain('__proto__');
    const widgetApply = await send(
      'PATCH',
      '/apis/example.com/v1alpha1/namespaces/default/widgets/t?fieldManager=m',
      'application/apply-patch+yaml',
      'apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata:\n  name: t\nspec:\n  clusterRef: c\n  config:\n    __proto__:\n      polluted: "yes"\n',
    );
    expect(widgetApply.status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await stillAnswers();
  });

  it('refuses a CRD whose scale paths would walk through a prototype, so a /scale write cannot reach Object.prototype', async () => {
    const crd = structuredClone(widgetCrd) as unknown as { spec: { versions: { subresources: Record<string, unknown> }[] } };
    (crd.spec.versions[0] as { subresources: Record<string, unknown> }).subresources = { scale: { specReplicasPath: '.spec.__proto__.polluted', statusReplicasPath: '.status.replicas' } };
    const answer = await send('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', 'application/json', JSON.stringify(crd));
    expect(answer).toMatchObject({ status: 422, body: { reason: 'Invalid' } });
    expect(answer.body.message).toContain('spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".spec.__proto__.polluted": must be a json path under .spec');
    await stillAnswers();
  });
});
