import { StarlaneError } from '@starlane/model';
import {
  booleanOption,
  durationMsOption,
  envName,
  flagName,
  integerOption,
  parseConfig,
  portOption,
  stringOption,
  type ConfigSpec,
} from './config';

const spec = {
  grpcPort: portOption({ help: 'gRPC port', default: 9090 }),
  dataDir: stringOption({ help: 'data directory' }),
  replicas: integerOption({ help: 'replicas', default: 3, min: 1, max: 5 }),
  verbose: booleanOption({ help: 'chatty', default: false }),
  pollMs: durationMsOption({ help: 'poll interval', default: 100, maxMs: 60_000 }),
} satisfies ConfigSpec;

function parse(argv: string[], env: Record<string, string> = {}) {
  const result = parseConfig('test', spec, argv, env);
  if (result.kind !== 'config') throw new Error('expected a config');
  return result.config;
}

function errorOf(argv: string[], env: Record<string, string> = {}): { code: string; message: string } {
  try {
    parseConfig('test', spec, argv, env);
  } catch (error) {
    if (error instanceof StarlaneError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a config error');
}

describe('parseConfig', () => {
  it('derives flag and environment names from the key', () => {
    expect(flagName('grpcPort')).toBe('--grpc-port');
    expect(envName('grpcPort')).toBe('STARLANE_GRPC_PORT');
  });

  it('takes flags first, then the environment, then defaults', () => {
    expect(parse(['--data-dir=/a'])).toEqual({ grpcPort: 9090, dataDir: '/a', replicas: 3, verbose: false, pollMs: 100 });
    expect(parse(['--data-dir', '/a', '--grpc-port', '0'], { STARLANE_GRPC_PORT: '7000' }).grpcPort).toBe(0);
    expect(parse([], { STARLANE_DATA_DIR: '/env', STARLANE_GRPC_PORT: '7000' })).toMatchObject({ dataDir: '/env', grpcPort: 7000 });
  });

  it('reads switches, booleans and durations', () => {
    expect(parse(['--verbose', '--data-dir=/a']).verbose).toBe(true);
    expect(parse(['--data-dir=/a', '--verbose=false']).verbose).toBe(false);
    expect(parse(['--data-dir=/a', '--poll-ms=5s']).pollMs).toBe(5000);
    expect(parse(['--data-dir=/a', '--poll-ms=250ms']).pollMs).toBe(250);
  });

  it.each([
    [['--data-dir=/a', '--bogus=1'], 'unknown flag --bogus (see --help)'],
    [['--data-dir=/a', '--grpc-port=70000'], 'invalid --grpc-port: expected a port from 0 to 65535, got "70000"'],
    [['--data-dir=/a', '--grpc-port=http'], 'invalid --grpc-port: expected a port from 0 to 65535, got "http"'],
    [['--data-dir=/a', '--replicas=9'], 'invalid --replicas: expected an integer from 1 to 5, got 9'],
    [['--data-dir=/a', '--poll-ms=2d'], 'invalid --poll-ms: expected a duration such as 500ms, 5s or 2m, got "2d"'],
    [['--data-dir=/a', '--verbose=maybe'], 'invalid --verbose: expected true or false, got "maybe"'],
    [['--data-dir'], 'flag --data-dir needs a value'],
    [['stray'], 'unexpected argument "stray" (flags look like --name=value; see --help)'],
    [[], 'missing required flag --data-dir (or STARLANE_DATA_DIR)'],
  ])('refuses %j with one line', (argv, message) => {
    const error = errorOf(argv);
    expect(error).toEqual({ code: 'CONFIG_INVALID', message });
    expect(error.message).not.toContain('\n');
  });

  it('takes only whole steps of a duration kept in coarser units, and says why', () => {
    const leaseSpec = { leaseTtlMs: durationMsOption({ help: 'lease TTL', default: 3000, minMs: 1000, maxMs: 60_000, stepMs: 1000, stepReason: 'etcd leases count whole seconds' }) };
    const parsed = parseConfig('test', leaseSpec, ['--lease-ttl-ms=2s'], {});
    expect(parsed.kind === 'config' && parsed.config.leaseTtlMs).toBe(2000);
    expect(() => parseConfig('test', leaseSpec, ['--lease-ttl-ms=1500'], {})).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: 'invalid --lease-ttl-ms: expected a whole number of seconds (etcd leases count whole seconds), got 1500' }),
    );
    expect(() => parseConfig('test', leaseSpec, [], { STARLANE_LEASE_TTL_MS: '2500ms' })).toThrow(expect.objectContaining({ message: expect.stringMatching(/^invalid STARLANE_LEASE_TTL_MS: expected a whole number of seconds/) }));
    expect(() => parseConfig('test', leaseSpec, ['--lease-ttl-ms=500'], {})).toThrow(expect.objectContaining({ message: 'invalid --lease-ttl-ms: expected a duration from 1000ms to 60000ms, got 500' }));
  });

  it('reports STARLANE_ variables that match no option', () => {
    const result = parseConfig('test', spec, ['--data-dir=/a'], { STARLANE_GRPC_PORT: '1', STARLANE_GRCP_PORT: '2', HOME: '/root' });
    expect(result.kind === 'config' && result.ignoredEnvironment).toEqual(['STARLANE_GRCP_PORT']);
  });

  it('names the environment variable when the bad value came from there', () => {
    expect(errorOf(['--data-dir=/a'], { STARLANE_REPLICAS: 'x' }).message).toBe('invalid STARLANE_REPLICAS: expected an integer, got "x"');
  });

  it('answers --help with every flag, its default and its variable', () => {
    const result = parseConfig('test', spec, ['--grpc-port=1', '--help'], {});
    expect(result.kind).toBe('help');
    if (result.kind !== 'help') return;
    expect(result.text).toContain('Usage: test [flags]');
    for (const key of Object.keys(spec)) {
      expect(result.text).toContain(flagName(key));
      expect(result.text).toContain(envName(key));
    }
    expect(result.text).toContain('required');
  });
});
