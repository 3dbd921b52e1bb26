#!/usr/bin/env node
// Bundles one app or tool entry point into a single CommonJS file for Node 20.
//
//   node tools/scripts/bundle.mjs <entry.ts> <outfile.js>
//
// Workspace libraries (@starlane/*) are compiled in; npm dependencies stay external and load
// from node_modules at run time, so native and data-file packages keep working.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error('usage: bundle.mjs <entry.ts> <outfile.js>');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = [
  ...Object.keys(manifest.dependencies ?? {}).flatMap((name) => [name, `${name}/*`]),
  ...builtinModules.flatMap((name) => [name, `node:${name}`]),
];

await build({
  absWorkingDir: root,
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  external,
  logLevel: 'warning',
  banner: { js: '#!/usr/bin/env node' },
});
