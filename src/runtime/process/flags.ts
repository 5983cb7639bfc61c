// Command-line flags, each with an environment variable; a flag wins over its
// variable, which wins over the default. Parsing is pure: it returns values or
// throws a UsageError, and touches nothing else.
import { parseDuration } from './duration.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type FlagType = 'string' | 'boolean' | 'duration' | 'integer' | 'number' | 'list';

export interface FlagSpec {
  name: string;
  /** A one-letter alias, `-n VALUE` (kubectl's -n and -o for the plugin). */
  short?: string;
  env?: string;
  type: FlagType;
  default?: string;
  help: string;
  /** Returns an error message for a parsed value that is not acceptable. */
  check?: (value: unknown) => string | undefined;
}

export type FlagValue = string | boolean | number | string[] | undefined;

function convert(spec: FlagSpec, raw: string, source: string): FlagValue {
  const fail = (why: string): never => {
    throw new UsageError(`invalid value "${raw}" for ${source}: ${why}`);
  };
  switch (spec.type) {
    case 'string':
      return raw;
    case 'boolean':
      if (/^(true|1|yes)$/i.test(raw)) return true;
      if (/^(false|0|no)$/i.test(raw)) return false;
      return fail('use true or false');
    case 'integer': {
      const n = Number(raw);
      return Number.isInteger(n) ? n : fail('use a whole number');
    }
    case 'number': {
      const n = Number(raw);
      return raw.trim() !== '' && Number.isFinite(n) ? n : fail('use a number');
    }
    case 'duration':
      try {
        return parseDuration(raw);
      } catch {
        return fail('use a duration such as 30s, 5m or 1h');
      }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
  }
}

export function parseFlags(
  specs: FlagSpec[],
  argv: string[],
  env: Record<string, string | undefined>,
): { values: Record<string, FlagValue>; positionals: string[] } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const fromArgs = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const short = /^-([a-zA-Z])(=.*)?$/.exec(arg);
    if (!arg.startsWith('--') && !short) {
      positionals.push(arg);
      continue;
    }
    const eq = short ? (short[2] ? 2 : -1) : arg.indexOf('=');
    const spec = short ? byShort.get(short[1]!) : byName.get(arg.slice(2, eq < 0 ? undefined : eq));
    if (!spec)
      throw new UsageError(`unknown flag ${short ? arg.slice(0, 2) : arg.slice(0, eq < 0 ? undefined : eq)}`);
    const name = spec.name;
    let raw: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (raw === undefined) {
      const next = argv[i + 1];
      if (spec.type === 'boolean' && (next === undefined || !/^(true|false|1|0|yes|no)$/i.test(next)))
        raw = 'true';
      else if (next === undefined) throw new UsageError(`flag --${name} needs a value`);
      else raw = argv[++i];
    }
    fromArgs.set(name, raw!);
  }
  const values: Record<string, FlagValue> = {};
  for (const spec of specs) {
    const arg = fromArgs.get(spec.name);
    const envValue = spec.env ? env[spec.env] : undefined;
    let value: FlagValue;
    if (arg !== undefined) value = convert(spec, arg, `--${spec.name}`);
    else if (envValue !== undefined && envValue !== '') value = convert(spec, envValue, spec.env!);
    else if (spec.default !== undefined) value = convert(spec, spec.default, `the default of --${spec.name}`);
    const problem = value !== undefined ? spec.check?.(value) : undefined;
    if (problem) throw new UsageError(`invalid value for --${spec.name}: ${problem}`);
    values[spec.name] = value;
  }
  return { values, positionals };
}

export function usage(specs: FlagSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length)) + 4;
  const shorts = specs.some((s) => s.short);
  return specs
    .map((s) => {
      const env = s.env ? ` [$${s.env}]` : '';
      const def = s.default !== undefined ? ` (default ${s.default})` : '';
      if (!shorts) return `  --${s.name.padEnd(width)}${s.help}${def}${env}`;
      const flag = s.short ? `-${s.short}, --${s.name}` : `    --${s.name}`;
      return `  ${flag.padEnd(width + 6)}${s.help}${def}${env}`;
    })
    .join('\n');
}
