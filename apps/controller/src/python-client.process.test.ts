import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { killAll, launchApp, workspaceRoot } from '@starlane/testing';

const run = promisify(execFile);
// Debian's interpreter, which has python3-grpcio and python3-grpc-tools.
const python = process.env['STARLANE_TEST_PYTHON'] ?? '/usr/bin/python3';

jest.setTimeout(120_000);

async function protoFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.proto')).map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

describe('a client generated in another language from proto/', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'starlane-python-'));
  });
  afterAll(async () => {
    await killAll();
    await rm(scratch, { recursive: true, force: true });
  });

  it('calls a running controller over gRPC from Python', async () => {
    const protoDir = join(workspaceRoot(), 'proto');
    const generated = join(scratch, 'generated');
    await run('mkdir', ['-p', generated]);
    await run(python, ['-m', 'grpc_tools.protoc', `-I${protoDir}`, `--python_out=${generated}`, `--grpc_python_out=${generated}`, ...(await protoFiles(protoDir))], { cwd: protoDir });

    const dataDir = join(scratch, 'controller');
    const controller = launchApp('controller', [`--data-dir=${dataDir}`, '--controller-id=7']);
    const ready = await controller.ready;

    const { stdout } = await run(python, [join(__dirname, '..', 'test', 'fixtures', 'describe_cluster.py'), generated, ready.grpcAddress]);
    const answer = JSON.parse(stdout) as Record<string, unknown>;

    expect(answer).toEqual({
      clusterId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      controllerId: 7,
      nodes: 0,
      metadataVersion: expect.any(Number),
      // INVALID_REPLICATION_FACTOR (38): with no storage node nothing can hold a replica.
      createTopic: ['from-python', 38, 'replication factor 1 is larger than the 0 available storage nodes'],
      // UNKNOWN_TOPIC_OR_PARTITION (3).
      describeTopic: ['from-python', 3],
      listOffsets: {
        status: 'UNIMPLEMENTED',
        details: 'starlane.v1.AdminService/ListOffsets is not implemented in this release',
        errorCode: 'NOT_IMPLEMENTED',
      },
    });
    expect((await controller.stop()).code).toBe(0);
  });
});
