/**
 * `starlane cluster describe` against a cluster with an active controller and a standby over
 * etcd: both are listed, each with its role.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startCluster, waitUntil, workspaceRoot, type TestCluster } from '@starlane/testing';

jest.setTimeout(120_000);

const bin = join(workspaceRoot(), 'tools', 'cli', 'bin', 'starlane.mjs');
const leaseTtlMs = 1000;

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ storageNodes: 1, controllers: 2, metadataStore: 'etcd', controllerArgs: [`--controller-lease-ttl-ms=${leaseTtlMs}`] });
});

afterAll(async () => {
  await cluster?.stop();
});

function starlane(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, STARLANE_GATEWAY: cluster.gatewayAddress }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('cluster describe with controllers over etcd', () => {
  it('lists the active controller and the standby with their roles', async () => {
    const activeName = await cluster.waitForActiveController();
    const activeId = Number(activeName.split('-').at(-1));
    const standbyId = 1 - activeId;
    const portOf = (id: number): string => cluster.controllerAddresses[id]!.split(':').at(-1)!;
    // The standby registers as soon as it listens; the table shows it once it has.
    const text = await waitUntil(
      'both controllers in cluster describe',
      async () => {
        const run = await starlane(['cluster', 'describe']);
        expect(run).toMatchObject({ code: 0, stderr: '' });
        return run.stdout.includes(' standby') ? run.stdout : undefined;
      },
      10_000,
    );
    expect(text).toMatch(new RegExp(`^Controller: +${activeId}$`, 'm'));
    const table = text.split('\n\n')[1]?.split('\n') ?? [];
    expect(table[0]).toMatch(/^CONTROLLER +HOST +PORT +ROLE$/);
    expect(table.slice(1).map((line) => line.split(/ +/))).toEqual(
      [
        [String(activeId), '127.0.0.1', portOf(activeId), 'active'],
        [String(standbyId), '127.0.0.1', portOf(standbyId), 'standby'],
      ].sort((a, b) => Number(a[0]) - Number(b[0])),
    );

    const json = JSON.parse((await starlane(['cluster', 'describe', '--json'])).stdout) as { controllers: { controllerId: number; role: string }[] };
    expect(json.controllers.map((controller) => [controller.controllerId, controller.role])).toEqual(
      [
        [activeId, 'active'],
        [standbyId, 'standby'],
      ].sort((a, b) => Number(a[0]) - Number(b[0])),
    );
  });
});
