import { parseArgs, stepsDefault, UsageError } from './args';

describe('simulate arguments', () => {
  it('defaults to one seed from 1 and reads --seeds, --seed, --steps in both spellings', () => {
    expect(parseArgs([])).toEqual({ seed: 1, seeds: 1, steps: stepsDefault, help: false });
    expect(parseArgs(['--seeds', '1000', '--seed=42', '--steps', '500'])).toEqual({ seed: 42, seeds: 1000, steps: 500, help: false });
    expect(parseArgs(['--help']).help).toBe(true);
  });

  it('refuses what it does not understand, with the reason', () => {
    expect(() => parseArgs(['--seeds', '0'])).toThrow(new UsageError('--seeds must be from 1 to 1000000, got 0'));
    expect(() => parseArgs(['--seed', '-3'])).toThrow(UsageError);
    expect(() => parseArgs(['--steps'])).toThrow('--steps needs a whole number, got ""');
    expect(() => parseArgs(['fast'])).toThrow('unknown argument fast (see --help)');
  });
});
