/**
 * The `starlane` command line: finds the command named by the leading words, parses its
 * options, runs it, and turns whatever went wrong into a message and an exit code.
 */
import packageJson from '../package.json';
import { commandHelp, commandName, groupHelp, parseCommandArgs, type CommandSpec } from './command';
import { consumeCommand } from './commands/consume';
import { clusterDescribe } from './commands/cluster';
import { offsetsCommand } from './commands/offsets';
import { partitionCommands } from './commands/partitions';
import { produceCommand } from './commands/produce';
import { topicCommands } from './commands/topics';
import { CommandContext } from './context';
import { UsageError, exitCodes, toFailure } from './errors';
import { defaultGatewayAddress, gatewayEnvName } from './values';
import type { CliIo } from './io';

export const cliVersion: string = packageJson.version;

export const commands: readonly CommandSpec[] = [...topicCommands, ...partitionCommands, produceCommand, consumeCommand, offsetsCommand, clusterDescribe];

const groups: Readonly<Record<string, string>> = {
  topics: 'Manage topics',
  partitions: 'Move partition replicas between storage nodes',
  cluster: 'Inspect the cluster',
};

const footer = `Global options:
  --gateway HOST:PORT  Gateway address (default: $${gatewayEnvName}, else ${defaultGatewayAddress})
  --timeout-ms MS      Deadline for each request/response call (default 30000)
  -h, --help           Show help (also: starlane help COMMAND...)
  -V, --version        Show the version

Exit codes:
  0  success
  1  the server answered with an error (printed as error: CODE: message)
  2  usage error: bad command line or unusable input
  3  no answer: the gateway is unreachable or a deadline passed

Run 'starlane COMMAND --help' for a command's options. See docs/cli.md.`;

export function topLevelHelp(): string {
  return groupHelp('The Starlane command-line client: talks to a gateway over its public gRPC API.', 'starlane COMMAND [options]', commands, footer);
}

function groupHelpText(group: string): string {
  const members = commands.filter((spec) => spec.path[0] === group);
  return groupHelp(groups[group] ?? group, `starlane ${group} COMMAND [options]`, members, "Run 'starlane " + group + " COMMAND --help' for a command's options.");
}

/** Global options allowed before the command words (they apply wherever they appear). */
const leadingValueOptions = new Set(['--gateway', '--timeout-ms']);

type Resolved =
  | { readonly kind: 'command'; readonly spec: CommandSpec; readonly argv: string[] }
  | { readonly kind: 'text'; readonly text: string; readonly exitCode: number; readonly toStderr: boolean };

/** Finds the command (or the help or version text) the arguments ask for. */
export function resolve(argv: readonly string[]): Resolved {
  const moved: string[] = [];
  let index = 0;
  // Global options may come before the command: `starlane --gateway h:9090 topics list`.
  while (index < argv.length && argv[index]!.startsWith('-')) {
    const arg = argv[index]!;
    if (arg === '-h' || arg === '--help') return { kind: 'text', text: topLevelHelp(), exitCode: exitCodes.ok, toStderr: false };
    if (arg === '-V' || arg === '--version') return { kind: 'text', text: `starlane ${cliVersion}\n`, exitCode: exitCodes.ok, toStderr: false };
    const name = arg.split('=')[0]!;
    if (!leadingValueOptions.has(name)) throw new UsageError(`unknown option '${arg}'`);
    if (arg.includes('=')) {
      moved.push(arg);
      index += 1;
    } else {
      if (index + 1 >= argv.length) throw new UsageError(`option '${arg}' needs a value`);
      moved.push(arg, argv[index + 1]!);
      index += 2;
    }
  }
  const words = argv.slice(index);
  const first = words[0];
  if (first === undefined) return { kind: 'text', text: topLevelHelp(), exitCode: exitCodes.usage, toStderr: true };
  if (first === 'help') return helpFor(words.slice(1));
  if (first === 'version') return { kind: 'text', text: `starlane ${cliVersion}\n`, exitCode: exitCodes.ok, toStderr: false };
  if (groups[first] !== undefined) {
    const second = words[1];
    if (second === undefined) return { kind: 'text', text: groupHelpText(first), exitCode: exitCodes.usage, toStderr: true };
    if (second === '-h' || second === '--help') return { kind: 'text', text: groupHelpText(first), exitCode: exitCodes.ok, toStderr: false };
    const spec = commands.find((candidate) => candidate.path[0] === first && candidate.path[1] === second);
    if (spec === undefined) throw new UsageError(`unknown command '${first} ${second}'`, first);
    return { kind: 'command', spec, argv: [...words.slice(2), ...moved] };
  }
  const spec = commands.find((candidate) => candidate.path.length === 1 && candidate.path[0] === first);
  if (spec === undefined) throw new UsageError(`unknown command '${first}'`);
  return { kind: 'command', spec, argv: [...words.slice(1), ...moved] };
}

function helpFor(words: readonly string[]): Resolved {
  if (words.length === 0) return { kind: 'text', text: topLevelHelp(), exitCode: exitCodes.ok, toStderr: false };
  const spec = commands.find((candidate) => commandName(candidate) === words.join(' '));
  if (spec !== undefined) return { kind: 'text', text: commandHelp(spec), exitCode: exitCodes.ok, toStderr: false };
  if (words.length === 1 && groups[words[0]!] !== undefined) return { kind: 'text', text: groupHelpText(words[0]!), exitCode: exitCodes.ok, toStderr: false };
  throw new UsageError(`no help for unknown command '${words.join(' ')}'`);
}

/** Runs the CLI; resolves to the exit code. Never rejects. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let context: CommandContext | undefined;
  let gatewayAddress = defaultGatewayAddress;
  let command: string | undefined;
  try {
    const resolved = resolve(argv);
    if (resolved.kind === 'text') {
      (resolved.toStderr ? io.stderr : io.stdout).write(resolved.text);
      return resolved.exitCode;
    }
    command = commandName(resolved.spec);
    const args = parseCommandArgs(resolved.spec, resolved.argv);
    if (args.flag('help')) {
      io.stdout.write(commandHelp(resolved.spec));
      return exitCodes.ok;
    }
    context = new CommandContext(io, args);
    gatewayAddress = context.gatewayAddress;
    return await resolved.spec.run(context, args);
  } catch (error) {
    const failure = toFailure(error, gatewayAddress);
    io.stderr.write(`error: ${failure.describe()}\n`);
    if (failure instanceof UsageError) {
      const about = failure.command ?? command;
      const help = about === undefined ? 'starlane --help' : `starlane ${about} --help`;
      io.stderr.write(`Run '${help}' for usage.\n`);
    }
    return failure.exitCode;
  } finally {
    context?.close();
  }
}
