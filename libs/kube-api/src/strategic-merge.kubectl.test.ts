// The real kubectl 1.34 sends strategic merge patches for built-ins (`set image`, client-side `apply`); the
// stored object keeps what the patch does not name (container ports) and holds no `$` directive.
import { KubeApiServer } from './server';
import type { KubeObject } from './store';
import { Kubectl } from './test-kubectl';

jest.setTimeout(180_000);

const manifest = (image: string, extraEnv = ''): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: x
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
      - name: c
        image: ${image}
        ports:
        - {containerPort: 8080, name: http}
        env:
        - {name: A, value: "1"}${extraEnv}
      - name: side
        image: side:1
`;

describe('strategic merge patches from the real kubectl', () => {
  let server: KubeApiServer;
  let kubectl: Kubectl;
  beforeEach(async () => {
    server = await KubeApiServer.start();
    kubectl = new Kubectl(server);
  });
  afterEach(async () => {
    await server.close();
    kubectl.cleanup();
  });
  const stored = async (): Promise<KubeObject> => (await (await fetch(`${server.url}/apis/apps/v1/namespaces/default/deployments/x`)).json()) as KubeObject;
  const containers = async (): Promise<KubeObject[]> => (await stored()).spec.template.spec.containers as KubeObject[];

  it('kubectl set image and a client-side re-apply merge containers by name and keep ports and env', async () => {
    expect(await kubectl.ok('apply', '-f', kubectl.file('d1.yaml', manifest('img:1')))).toBe('deployment.apps/x created\n');
    expect(await kubectl.ok('set', 'image', 'deployment/x', 'c=img:2')).toBe('deployment.apps/x image updated\n');
    const strategic = server.requests((r) => r.method === 'PATCH' && r.contentType.startsWith('application/strategic-merge-patch+json'));
    expect(strategic.length).toBe(1);
    expect(await containers()).toEqual([
      { name: 'c', image: 'img:2', ports: [{ containerPort: 8080, name: 'http' }], env: [{ name: 'A', value: '1' }] },
      { name: 'side', image: 'side:1' },
    ]);
    expect(JSON.stringify(await stored())).not.toContain('$');

    expect(await kubectl.ok('apply', '-f', kubectl.file('d2.yaml', manifest('img:3', '\n        - {name: B, value: "2"}')))).toBe('deployment.apps/x configured\n');
    expect(await containers()).toEqual([
      { name: 'c', image: 'img:3', ports: [{ containerPort: 8080, name: 'http' }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
      { name: 'side', image: 'side:1' },
    ]);
    expect(JSON.stringify(await stored())).not.toContain('$');
    expect((await stored()).metadata.generation).toBe(3);
  });
});
