import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The monorepo root (the folder holding nx.json), wherever the test runs from. */
export function workspaceRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('nx.json not found above ' + __dirname);
    dir = parent;
  }
  return dir;
}

/** Path of an app's bundle, built by its `build` target (tests depend on it). */
export function appBundle(app: string): string {
  const path = join(workspaceRoot(), 'dist', 'apps', app, 'main.js');
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npx nx build ${app}\` first`);
  return path;
}
