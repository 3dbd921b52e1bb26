/**
 * Commands as data: each declares its options and positionals once, and both the argument
 * parser (node:util parseArgs) and the `--help` text are derived from that declaration.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors';
import type { CommandContext } from './context';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** May be given more than once; the values are collected in order. */
  readonly multiple?: boolean;
  /** Placeholder shown in help, e.g. `N` in `--partitions N`. */
  readonly valueName?: string;
  readonly description: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface CommandSpec {
  /** Words that select the command, e.g. `['topics', 'create']`. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Positionals as shown in the usage line, e.g. `NAME...`. */
  readonly usage: string;
  readonly positionals: { readonly min: number; readonly max: number };
  readonly options: OptionSpecs;
  /** Further help: behaviour, examples. */
  readonly details?: string;
  run(context: CommandContext, args: ParsedArgs): Promise<number>;
}

/** Options every command accepts. */
export const globalOptions: OptionSpecs = {
  gateway: { type: 'string', valueName: 'HOST:PORT', description: 'Gateway address (default: $STARLANE_GATEWAY, else 127.0.0.1:9090)' },
  'timeout-ms': { type: 'string', valueName: 'MS', description: 'Deadline for each request/response call (default 30000)' },
  help: { type: 'boolean', short: 'h', description: 'Show this help' },
};

export class ParsedArgs {
  constructor(
    readonly command: string,
    readonly positionals: readonly string[],
    private readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>,
  ) {}

  string(name: string): string | undefined {
    const value = this.values[name];
    if (Array.isArray(value)) return value.length === 0 ? undefined : String(value[value.length - 1]);
    return typeof value === 'string' ? value : undefined;
  }

  strings(name: string): string[] {
    const value = this.values[name];
    if (value === undefined) return [];
    return (Array.isArray(value) ? value : [value]).map(String);
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }
}

export function commandName(spec: Pick<CommandSpec, 'path'>): string {
  return spec.path.join(' ');
}

/** Parses a command's arguments (everything after its path words); usage mistakes become UsageError. */
export function parseCommandArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const name = commandName(spec);
  const all = { ...globalOptions, ...spec.options };
  const options = Object.fromEntries(
    Object.entries(all).map(([key, option]) => [key, { type: option.type, multiple: option.multiple ?? false, ...(option.short !== undefined ? { short: option.short } : {}) }]),
  );
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs throws TypeErrors with a code; read the message without trusting the realm.
    const message = (error as { message?: unknown }).message;
    throw new UsageError(typeof message === 'string' ? cleanParseArgsMessage(message) : String(error), name);
  }
  const args = new ParsedArgs(name, parsed.positionals, parsed.values);
  if (args.flag('help')) return args;
  const count = parsed.positionals.length;
  if (count < spec.positionals.min) throw new UsageError(`missing ${spec.usage.split(' ')[count] ?? 'argument'}`, name);
  if (count > spec.positionals.max) throw new UsageError(`unexpected argument '${parsed.positionals[spec.positionals.max]}'`, name);
  return args;
}

/** parseArgs messages end with advice meant for script authors ("To specify a positional..."). */
function cleanParseArgsMessage(message: string): string {
  return message.split('. To specify')[0]!.replace(/\.$/, '');
}

function optionLabel(name: string, option: OptionSpec): string {
  const short = option.short !== undefined ? `-${option.short}, ` : '    ';
  const value = option.type === 'string' ? ` ${option.valueName ?? 'VALUE'}` : '';
  return `${short}--${name}${value}`;
}

function labelWidth(...groups: OptionSpecs[]): number {
  return Math.max(...groups.flatMap((options) => Object.entries(options).map(([name, option]) => optionLabel(name, option).length)));
}

function optionLines(options: OptionSpecs, width: number): string[] {
  const entries = Object.entries(options);
  return entries.map(([name, option]) => {
    const repeat = option.multiple === true ? ' (repeatable)' : '';
    return `  ${optionLabel(name, option).padEnd(width)}  ${option.description}${repeat}`;
  });
}

/** The `--help` text of one command. */
export function commandHelp(spec: CommandSpec): string {
  const lines = [`Usage: starlane ${commandName(spec)}${spec.usage === '' ? '' : ` ${spec.usage}`} [options]`, '', spec.summary, ''];
  const width = labelWidth(spec.options, globalOptions);
  if (Object.keys(spec.options).length > 0) lines.push('Options:', ...optionLines(spec.options, width), '');
  lines.push('Global options:', ...optionLines(globalOptions, width), '');
  if (spec.details !== undefined) lines.push(spec.details.trimEnd(), '');
  return lines.join('\n');
}

/** Help for a group of commands (`starlane topics --help`) or the whole CLI. */
export function groupHelp(title: string, usage: string, commands: readonly CommandSpec[], footer: string): string {
  const width = Math.max(...commands.map((spec) => commandName(spec).length));
  return [
    `Usage: ${usage}`,
    '',
    title,
    '',
    'Commands:',
    ...commands.map((spec) => `  ${commandName(spec).padEnd(width)}  ${spec.summary}`),
    '',
    footer.trimEnd(),
    '',
  ].join('\n');
}
