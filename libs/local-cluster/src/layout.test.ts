import { StarlaneError } from '@starlane/model';
import { devClusterLayout, layoutPorts, operatorProcess, portBaseDefault, portBaseFrom, portSpanMax } from './layout';

describe('devClusterLayout', () => {
  it('keeps the documented ports with the default base', () => {
    const layout = devClusterLayout({ portBase: portBaseDefault, dataRoot: '/data' });
    expect(layout.processes.map((spec) => [spec.name, spec.grpcPort, spec.metricsPort])).toEqual([
      ['controller', 9091, 9191],
      ['storage-node-1', 9101, 9201],
      ['storage-node-2', 9102, 9202],
      ['storage-node-3', 9103, 9203],
      ['gateway', 9090, 9190],
    ]);
    expect(layout.processes.find((spec) => spec.name === 'storage-node-2')?.args).toEqual([
      '--listen-host=127.0.0.1',
      '--grpc-port=9102',
      '--metrics-port=9202',
      '--node-id=2',
      '--controllers=127.0.0.1:9091',
      '--data-dir=/data/storage-node-2',
    ]);
    // A storage node does its part once the controller has made it active, not when it listens.
    expect(layout.processes.map((spec) => spec.readyEvent)).toEqual(['ready', 'node-unfenced', 'node-unfenced', 'node-unfenced', 'ready']);
  });

  it('moves every port by the same amount with another base, and names each in layoutPorts', () => {
    const layout = devClusterLayout({ portBase: 20000, dataRoot: '/data' });
    const ports = layout.processes.flatMap((spec) => [spec.grpcPort, spec.metricsPort]);
    expect(ports.sort()).toEqual(layoutPorts(20000).sort());
    expect(Math.max(...ports)).toBe(20000 + portSpanMax);
    expect(layout.processes.find((spec) => spec.name === 'gateway')?.args).toContain('--controllers=127.0.0.1:20001');
  });

  it("puts the operator at its own default ports with the default base, inside the layout's span, and names them with operator: true", () => {
    const operator = operatorProcess(devClusterLayout({ portBase: portBaseDefault, dataRoot: '/data' }));
    expect([operator.name, operator.app, operator.grpcPort, operator.metricsPort, operator.readyEvent]).toEqual(['operator', 'operator', 9095, 9195, 'ready']);
    expect(operator.args).toEqual(['--listen-host=127.0.0.1', '--grpc-port=9095', '--metrics-port=9195']);
    const moved = operatorProcess(devClusterLayout({ portBase: 20000, dataRoot: '/data' }));
    expect(layoutPorts(20000, { operator: true }).sort()).toEqual([...layoutPorts(20000), moved.grpcPort, moved.metricsPort].sort());
    expect(layoutPorts(20000)).not.toContain(moved.grpcPort);
    expect(moved.metricsPort).toBeLessThanOrEqual(20000 + portSpanMax);
  });
});

describe('portBaseFrom', () => {
  it('defaults when unset or empty and reads a whole number', () => {
    expect(portBaseFrom(undefined)).toBe(9090);
    expect(portBaseFrom('')).toBe(9090);
    expect(portBaseFrom(' 19090 ')).toBe(19090);
  });

  it.each(['abc', '-1', '0', '1.5', '65500', '9090x'])('refuses %p with INVALID_CONFIG naming the variable', (value) => {
    let thrown: unknown;
    try {
      portBaseFrom(value);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StarlaneError);
    expect((thrown as StarlaneError).code).toBe('INVALID_CONFIG');
    expect((thrown as StarlaneError).message).toContain('STARLANE_DEV_PORT_BASE');
  });
});
