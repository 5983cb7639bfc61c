// One-letter flags (kubectl's -n and -o for check-access) beside the long ones.
import { describe, expect, it } from 'vitest';
import { type FlagSpec, parseFlags, usage } from '../../src/runtime/process/flags.ts';

const SPECS: FlagSpec[] = [
  { name: 'namespace', short: 'n', type: 'string', help: 'the namespace' },
  { name: 'output', short: 'o', type: 'string', default: 'text', help: 'text or json' },
  { name: 'context', type: 'string', help: 'the context' },
];

describe('short flags', () => {
  it('take a value as the next argument or after =, like their long names', () => {
    expect(parseFlags(SPECS, ['deploy', '-n', 'team-a', '-o=json'], {})).toEqual({
      values: { namespace: 'team-a', output: 'json', context: undefined },
      positionals: ['deploy'],
    });
    expect(parseFlags(SPECS, ['--namespace', 'team-b', '--context=prod'], {}).values).toMatchObject({
      namespace: 'team-b',
      context: 'prod',
      output: 'text',
    });
  });

  it('refuse a letter no flag has, naming it', () => {
    expect(() => parseFlags(SPECS, ['-x'], {})).toThrow('unknown flag -x');
    expect(() => parseFlags(SPECS, ['-n'], {})).toThrow('flag --namespace needs a value');
  });

  it('are shown in the usage beside the long name', () => {
    const text = usage(SPECS);
    expect(text).toContain('  -n, --namespace');
    expect(text).toContain('      --context');
  });
});
