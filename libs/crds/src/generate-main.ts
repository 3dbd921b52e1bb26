// Writes the CRD YAML from the TypeScript definitions: `npx nx run crds:generate`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderCrdFiles } from './render';

const root = process.cwd();
for (const [path, content] of renderCrdFiles()) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
  process.stdout.write(`wrote ${path}\n`);
}
