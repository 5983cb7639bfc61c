// The bench's command line, and what it takes from the Helm chart and the
// Dockerfile so the operator runs as it does in a cluster.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// The operator as the image runs it: the bundled dist/cli.cjs (built first), not the .ts sources.
export const CLI = join(ROOT, 'dist', 'cli.cjs');
export const REGION = 'eu-west-1';
export const NAMESPACES = 10;
/** The bench measures the operator, not its client-side rate limits: they are raised unless given after `--`. */
export const LIMITS = [
  '--aws-qps',
  '1000',
  '--aws-burst',
  '1000',
  '--gitlab-qps',
  '1000',
  '--gitlab-burst',
  '1000',
];

export interface Options {
  n: number;
  samples: number;
  out: string;
  operatorArgs: string[];
  /** NODE_OPTIONS for the operator only (V8 heap flags, say). */
  nodeOptions: string;
  /** Seconds of quiet after the last Ready before the steady RSS is read. */
  settle: number;
  /** Federations of method IAMUserAccessKeys for the key step (scripts/bench/keys.ts); 0 skips it. */
  keys: number;
  /** The key step also waits for a rotation on the interval and the end of its grace period (about a minute more). */
  intervalRotation: boolean;
}

export function parseArgs(argv: string[]): Options {
  const split = argv.indexOf('--');
  const own = split === -1 ? argv : argv.slice(0, split);
  const operatorArgs = split === -1 ? [] : argv.slice(split + 1);
  const opts: Options = {
    n: 1000,
    samples: 20,
    out: '',
    operatorArgs,
    nodeOptions: chartNodeOptions(),
    settle: 15,
    keys: 100,
    intervalRotation: false,
  };
  for (let i = 0; i < own.length; i++) {
    const [flag, inline] = own[i]!.split('=', 2);
    if (flag === '--interval-rotation') {
      opts.intervalRotation = true;
      continue;
    }
    const value = inline ?? own[++i];
    const int = (min = 1) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < min) usage(`${flag} needs a whole number of at least ${min}`);
      return n;
    };
    if (flag === '--n') opts.n = int();
    else if (flag === '--keys') opts.keys = int(0);
    else if (flag === '--samples') opts.samples = int();
    else if (flag === '--settle') opts.settle = int();
    else if (flag === '--out' && value) opts.out = value;
    else if (flag === '--node-options' && value !== undefined) opts.nodeOptions = value;
    else usage(`unknown argument ${own[i]}`);
  }
  opts.out ||= join(ROOT, '.tmp', 'bench', `bench-n${opts.n}.json`);
  return opts;
}

/** The Helm chart's NODE_OPTIONS, so the bench runs the operator with the heap limits it has in a cluster. */
function chartNodeOptions(): string {
  const values = parse(
    readFileSync(join(ROOT, 'deploy', 'helm', 'gitlab-aws-operator', 'values.yaml'), 'utf8'),
  );
  return String(values.nodeOptions ?? '');
}

/** The environment the image (Dockerfile) gives the process besides NODE_OPTIONS: its glibc malloc tuning (MALLOC_*). */
export function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  return Object.fromEntries(
    [...dockerfile.matchAll(/^ENV (MALLOC_\w+)=(\d+)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
}

function usage(why: string): never {
  process.stderr.write(
    `${why}\nusage: npm run bench -- [--n 1000] [--samples 20] [--keys 100] [--interval-rotation] [--out file.json] [--node-options '<flags>'] [-- <operator flags>]\n`,
  );
  process.exit(2);
}
