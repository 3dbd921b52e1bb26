import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceRoot } from '@starlane/launcher';

describe('workspace set-up', () => {
  it('has .ci/run run exactly the test command the README gives', () => {
    const readme = readFileSync(join(workspaceRoot(), 'README.md'), 'utf8');
    const ciRun = readFileSync(join(workspaceRoot(), '.ci', 'run'), 'utf8');
    const command = ciRun.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#') && !/^(set|cd|export) /.test(line));
    expect(command).toHaveLength(1);
    expect(readme).toContain(`\n${command[0]}\n`);
    expect(command[0]).toMatch(/npm ci && npm test$/);
  });
});
