#!/usr/bin/env node
// The `starlane` command: runs the bundled CLI (built by `npx nx build cli`).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bundle = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'tools', 'cli', 'main.js');
if (!existsSync(bundle)) {
  process.stderr.write(`starlane: ${bundle} is missing; build it with \`npx nx build cli\`\n`);
  process.exit(2);
}
await import(bundle);
