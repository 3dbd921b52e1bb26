/**
 * Typed process configuration from command-line flags and environment variables.
 *
 * Each option is declared once with a parser; the flag name (`--grpc-port`) and the
 * environment variable (`STARLANE_GRPC_PORT`) are derived from the key (`grpcPort`), so
 * Helm charts, `npm start` and humans all spell it the same way. Precedence: flag, then
 * environment, then default. Every failure is a `StarlaneError` with code `CONFIG_INVALID`
 * whose message fits on one line and names the flag at fault.
 */
import { StarlaneError } from '@starlane/model';

export interface OptionSpec<T> {
  readonly help: string;
  /** `undefined` means the option is required. */
  readonly default: T | undefined;
  /** Shown in --help in place of the value, e.g. `PORT`. */
  readonly metavar: string;
  /** Turns the raw text into a value or explains, in a phrase, why it cannot. */
  parse(raw: string): T;
  /** A boolean flag may be given without a value (`--verbose`). */
  readonly isSwitch?: boolean;
}

export type ConfigSpec = Record<string, OptionSpec<unknown>>;
export type ConfigOf<S extends ConfigSpec> = { readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never };

class OptionValueError extends Error {}

function invalid(why: string): never {
  throw new OptionValueError(why);
}

export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

export function envName(key: string): string {
  return `STARLANE_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

export function stringOption(options: { help: string; default?: string; metavar?: string; pattern?: RegExp }): OptionSpec<string> {
  return {
    help: options.help,
    default: options.default,
    metavar: options.metavar ?? 'TEXT',
    parse(raw) {
      if (raw.length === 0) invalid('must not be empty');
      if (options.pattern && !options.pattern.test(raw)) invalid(`must match ${options.pattern.source}`);
      return raw;
    },
  };
}

export function integerOption(options: { help: string; default?: number; min: number; max: number; metavar?: string }): OptionSpec<number> {
  return {
    help: options.help,
    default: options.default,
    metavar: options.metavar ?? 'N',
    parse(raw) {
      if (!/^-?\d+$/.test(raw.trim())) invalid(`expected an integer, got ${JSON.stringify(raw)}`);
      const value = Number(raw);
      if (!Number.isSafeInteger(value) || value < options.min || value > options.max) {
        invalid(`expected an integer from ${options.min} to ${options.max}, got ${raw}`);
      }
      return value;
    },
  };
}

/** A TCP port; 0 asks the operating system for a free one (the bound port is logged). */
export function portOption(options: { help: string; default: number }): OptionSpec<number> {
  const integer = integerOption({ ...options, min: 0, max: 65535, metavar: 'PORT' });
  return {
    ...integer,
    parse(raw) {
      try {
        return integer.parse(raw);
      } catch {
        return invalid(`expected a port from 0 to 65535, got ${JSON.stringify(raw)}`);
      }
    },
  };
}

/** A listen address: an IPv4/IPv6 literal or a host name. */
export function hostOption(options: { help: string; default: string }): OptionSpec<string> {
  return {
    help: options.help,
    default: options.default,
    metavar: 'HOST',
    parse(raw) {
      if (!/^[A-Za-z0-9.:_-]+$/.test(raw)) invalid(`expected a host name or IP address, got ${JSON.stringify(raw)}`);
      return raw;
    },
  };
}

/** A comma-separated list of host:port addresses (IPv6 hosts in brackets); at least one. */
export function addressListOption(options: { help: string; default: readonly string[] }): OptionSpec<readonly string[]> {
  return {
    help: options.help,
    default: options.default,
    metavar: 'HOST:PORT,...',
    parse(raw) {
      const addresses = raw
        .split(',')
        .map((address) => address.trim())
        .filter((address) => address !== '');
      if (addresses.length === 0) invalid('expected at least one host:port');
      for (const address of addresses) {
        if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/.test(address)) invalid(`expected host:port, got ${JSON.stringify(address)}`);
      }
      return addresses;
    },
  };
}

export function enumOption<const T extends string>(options: { help: string; default: T; values: readonly T[] }): OptionSpec<T> {
  return {
    help: `${options.help} (one of ${options.values.join(', ')})`,
    default: options.default,
    metavar: 'VALUE',
    parse(raw) {
      const value = options.values.find((candidate) => candidate === raw);
      return value ?? invalid(`expected one of ${options.values.join(', ')}, got ${JSON.stringify(raw)}`);
    },
  };
}

export function booleanOption(options: { help: string; default: boolean }): OptionSpec<boolean> {
  return {
    help: options.help,
    default: options.default,
    metavar: 'BOOL',
    isSwitch: true,
    parse(raw) {
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      return invalid(`expected true or false, got ${JSON.stringify(raw)}`);
    },
  };
}

/**
 * A duration in milliseconds: `250`, `250ms`, `5s`, `2m`, `1h`. With `stepMs`, only whole
 * multiples of it are accepted (`stepMs: 1000` for a setting kept in whole seconds, such as an
 * etcd lease TTL), rather than a value that would be rounded without saying so; `stepReason`
 * says why in the error.
 */
export function durationMsOption(options: { help: string; default: number; minMs?: number; maxMs?: number; stepMs?: number; stepReason?: string }): OptionSpec<number> {
  const unitsMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return {
    help: options.help,
    default: options.default,
    metavar: 'DURATION',
    parse(raw) {
      const match = /^(\d+)(ms|s|m|h)?$/.exec(raw.trim());
      if (!match) invalid(`expected a duration such as 500ms, 5s or 2m, got ${JSON.stringify(raw)}`);
      const valueMs = Number(match[1]) * (unitsMs[match[2] ?? 'ms'] ?? 1);
      const minMs = options.minMs ?? 0;
      const maxMs = options.maxMs ?? Number.MAX_SAFE_INTEGER;
      if (!Number.isSafeInteger(valueMs) || valueMs < minMs || valueMs > maxMs) {
        invalid(`expected a duration from ${minMs}ms to ${maxMs}ms, got ${raw}`);
      }
      const stepMs = options.stepMs ?? 1;
      if (valueMs % stepMs !== 0) {
        const whole = stepMs === 1000 ? 'a whole number of seconds' : `a multiple of ${stepMs}ms`;
        invalid(`expected ${whole}${options.stepReason === undefined ? '' : ` (${options.stepReason})`}, got ${raw}`);
      }
      return valueMs;
    },
  };
}

export type ParsedArgs<S extends ConfigSpec> =
  | {
      kind: 'config';
      config: ConfigOf<S>;
      /** STARLANE_* variables that match no option: reported, not fatal, since one environment
       * may serve several programs. */
      ignoredEnvironment: string[];
    }
  | { kind: 'help'; text: string };

function configError(message: string): StarlaneError {
  return new StarlaneError('CONFIG_INVALID', message);
}

/**
 * Parses `argv` (without the node and script paths) and `env` against `spec`.
 * Accepts `--flag=value` and `--flag value`; `--help`/`-h` asks for the help text.
 */
export function parseConfig<S extends ConfigSpec>(
  program: string,
  spec: S,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedArgs<S> {
  const keyByFlag = new Map(Object.keys(spec).map((key) => [flagName(key), key]));
  const rawByKey = new Map<string, { raw: string; source: string }>();

  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? '';
    if (arg === '--help' || arg === '-h') return { kind: 'help', text: helpText(program, spec) };
    if (!arg.startsWith('--')) throw configError(`unexpected argument ${JSON.stringify(arg)} (flags look like --name=value; see --help)`);
    const equals = arg.indexOf('=');
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    const key = keyByFlag.get(flag);
    if (key === undefined) throw configError(`unknown flag ${flag} (see --help)`);
    const option = spec[key];
    if (option === undefined) throw configError(`unknown flag ${flag} (see --help)`);
    let raw: string;
    if (equals !== -1) {
      raw = arg.slice(equals + 1);
    } else if (option.isSwitch && (argv[index + 1] === undefined || argv[index + 1]?.startsWith('--'))) {
      raw = 'true';
    } else {
      const next = argv[index + 1];
      if (next === undefined) throw configError(`flag ${flag} needs a value`);
      raw = next;
      index++;
    }
    rawByKey.set(key, { raw, source: flag });
  }

  const config: Record<string, unknown> = {};
  for (const [key, option] of Object.entries(spec)) {
    const given = rawByKey.get(key) ?? (env[envName(key)] !== undefined ? { raw: env[envName(key)] ?? '', source: envName(key) } : undefined);
    if (given === undefined) {
      if (option.default === undefined) throw configError(`missing required flag ${flagName(key)} (or ${envName(key)})`);
      config[key] = option.default;
      continue;
    }
    try {
      config[key] = option.parse(given.raw);
    } catch (error) {
      if (error instanceof OptionValueError) throw configError(`invalid ${given.source}: ${error.message}`);
      throw error;
    }
  }
  const known = new Set(Object.keys(spec).map(envName));
  const ignoredEnvironment = Object.keys(env).filter((name) => name.startsWith('STARLANE_') && !known.has(name)).sort();
  return { kind: 'config', config: config as ConfigOf<S>, ignoredEnvironment };
}

export function helpText(program: string, spec: ConfigSpec): string {
  const rows = Object.entries(spec).map(([key, option]) => {
    const left = `  ${flagName(key)}=${option.metavar}`;
    const fallback = option.default === undefined ? 'required' : `default ${JSON.stringify(option.default)}`;
    return `${left.padEnd(36)} ${option.help} [${fallback}; env ${envName(key)}]`;
  });
  return [`Usage: ${program} [flags]`, '', 'Flags:', ...rows, `  ${'--help'.padEnd(34)} show this help`].join('\n');
}
