import { StarlaneError } from '@starlane/model';
import { kubePortDefault, kubePortFrom, kubeSettings } from './settings';

describe('kubePortFrom', () => {
  it('defaults to 6443 when unset or empty, and reads a whole number (0: any free port)', () => {
    expect(kubePortFrom(undefined)).toBe(kubePortDefault);
    expect(kubePortFrom(' ')).toBe(6443);
    expect(kubePortFrom('16443')).toBe(16443);
    expect(kubePortFrom('0')).toBe(0);
  });

  it.each(['abc', '-1', '1.5', '65536', '6443x'])('refuses %p with INVALID_CONFIG naming the variable', (value) => {
    let thrown: unknown;
    try {
      kubePortFrom(value);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StarlaneError);
    expect((thrown as StarlaneError).code).toBe('INVALID_CONFIG');
    expect((thrown as StarlaneError).message).toContain('STARLANE_KUBE_PORT');
  });
});

describe('kubeSettings', () => {
  it("keeps the cluster's data in its own folder under the data root, apart from npm start's, and the kubeconfig at the root", () => {
    const settings = kubeSettings({ dataRoot: '/work/.starlane', portBase: 9090, kubePort: 6443 });
    expect(settings.clusterDataDir).toBe('/work/.starlane/kube');
    expect(settings.kubeconfigPath).toBe('/work/.starlane/kubeconfig');
    expect(settings.layout.processes.find((spec) => spec.name === 'controller')?.args).toContain('--data-dir=/work/.starlane/kube/controller');
    expect(settings.layout.processes.find((spec) => spec.name === 'gateway')?.grpcPort).toBe(9090);
  });
});
