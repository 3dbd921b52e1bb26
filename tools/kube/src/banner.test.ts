import { devClusterLayout } from '@starlane/local-cluster';
import { banner, readyLine } from './banner';

const info = { apiUrl: 'http://127.0.0.1:6443', kubeconfig: '.starlane/kubeconfig', kubectl: 'node_modules/.cache/kubectl', clusterDataDir: '.starlane/kube' };

describe('banner', () => {
  it('starts with the ready line and gives the kubectl commands of the issue with the kubeconfig written', () => {
    const text = banner({ ...info, layout: devClusterLayout({ portBase: 9090, dataRoot: '/data' }) });
    expect(text.trimStart().startsWith(readyLine)).toBe(true);
    for (const command of ['apply -f deploy/examples/topic.yaml', 'get topics', 'describe topic demo']) expect(text).toContain(`kubectl --kubeconfig .starlane/kubeconfig ${command}`);
    expect(text).toContain('kubectl 1.34 is at node_modules/.cache/kubectl');
    expect(text).toContain('npm run kubectl -- <args>');
    expect(text).toContain('metrics http://127.0.0.1:9195/metrics');
    // The CLI's default gateway is the default layout's: no STARLANE_GATEWAY needed.
    expect(text).not.toContain('STARLANE_GATEWAY');
  });

  it("tells the CLI where the gateway is when the ports moved, and where to get kubectl when it is not unpacked", () => {
    const text = banner({ ...info, kubectl: undefined, layout: devClusterLayout({ portBase: 19090, dataRoot: '/data' }) });
    expect(text).toContain('export STARLANE_GATEWAY=127.0.0.1:19090');
    expect(text).toContain('Any kubectl works');
  });
});
