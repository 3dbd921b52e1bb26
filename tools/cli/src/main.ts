/**
 * The `starlane` process: runs the CLI on the real standard streams and exits with its code.
 */
import { runCli } from './cli';
import { processIo } from './io';

async function main(): Promise<void> {
  const code = await runCli(process.argv.slice(2), processIo());
  process.exitCode = code;
  // Exit even if a read of stdin is still pending (Ctrl-C during produce), once output is out.
  if (process.stdout.writableNeedDrain) await new Promise((resolve) => process.stdout.once('drain', resolve));
  process.exit(code);
}

void main();
