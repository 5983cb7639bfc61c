// Runs an operator as its own process (as in production) and reads its JSON logs.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { spawnGuarded, waitFor } from './processes.ts';

export type LogLine = Record<string, unknown> & { msg?: string; level?: string; time?: string };

export interface OperatorProcess {
  child: ChildProcess;
  lines: LogLine[];
  stderr: () => string;
  waitForLog: (predicate: (line: LogLine) => boolean, timeoutMs?: number) => Promise<LogLine>;
  exited: Promise<number | null>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/**
 * `nodeArgs` go to Node before the script: V8 flags that NODE_OPTIONS does not
 * take (e.g. `--heap-snapshot-string-limit`).
 */
export function startOperatorProcess(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  { nodeArgs = [] }: { nodeArgs?: string[] } = {},
): OperatorProcess {
  const child = spawnGuarded(process.execPath, [...nodeArgs, script, ...args], { ...process.env, ...env });
  return watchOperator(child, (signal) => {
    child.kill(signal);
  });
}

/**
 * An operator's process (or the podman process of its container): its JSON
 * log lines, its stderr, its exit; `kill` stops it while it runs.
 */
export function watchOperator(
  child: ChildProcess,
  kill: (signal: NodeJS.Signals) => unknown,
): OperatorProcess {
  const lines: LogLine[] = [];
  let stderr = '';
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ msg: line });
    }
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    waitForLog: (predicate, timeoutMs = 30_000) =>
      waitFor('operator log line', async () => lines.find(predicate), {
        timeoutMs,
        intervalMs: 50,
        diagnostics: () => `${lines.map((l) => JSON.stringify(l)).join('\n')}\n${stderr}`,
      }),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) await kill(signal);
      return exited;
    },
  };
}

/**
 * The start of every product operator's command line in tests, the demo and the
 * bench: `run`, the namespaces to watch (all when undefined), ports picked by the OS.
 * Tenancy is open unless asked: most tests are about something else, and the
 * tenancy tests and the demo write the GitLabAwsPolicies they run under.
 * The kubeconfig is explicit so that the testbed does not depend on the test runner
 * (tests pass `inject('kubeconfig')`).
 */
export function runArgs(
  namespaces: string | undefined,
  kubeconfig: string,
  tenancy: 'open' | 'restricted' = 'open',
): string[] {
  return [
    'run',
    '--kubeconfig',
    kubeconfig,
    '--tenancy',
    tenancy,
    ...(namespaces === undefined ? [] : ['--namespaces', namespaces]),
    '--metrics-addr',
    '127.0.0.1:0',
    '--health-addr',
    '127.0.0.1:0',
  ];
}

/**
 * What points an operator's AWS SDKs at the testbed: IAM and STS at moto (through
 * the IAM proxy), CodeConnections at its fake, and no real credentials or config files.
 */
export function testbedAwsEnv(options: {
  iamUrl: string;
  codeConnectionsUrl?: string;
  region: string;
}): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL_IAM: options.iamUrl,
    AWS_ENDPOINT_URL_STS: options.iamUrl,
    ...(options.codeConnectionsUrl
      ? { AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS: options.codeConnectionsUrl }
      : {}),
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: options.region,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}
