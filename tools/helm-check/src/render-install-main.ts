// Writes deploy/install.yaml, the chart rendered with default values: `npx nx run helm-check:render-install`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installManifestPath, renderInstallManifest } from './helm';

writeFileSync(join(process.cwd(), installManifestPath), renderInstallManifest());
process.stdout.write(`wrote ${installManifestPath}\n`);
