// moto server (the AWS emulator) for IAM and STS, and for the services the
// example jobs use (ECR, ECS, Secrets Manager, CloudFormation, S3).
import { fileURLToPath } from 'node:url';
import { motoPythonPath, motoServerPath } from './assets.ts';
import { freePort, startProcess, waitFor } from './processes.ts';

export interface Moto {
  url: string;
  /** Of the server process (the bench reads its CPU time). */
  pid: number | undefined;
  reset: () => Promise<void>;
  /**
   * From the next request on, moto authenticates every request after the first
   * `unauthenticated` and authorises it against the caller's IAM policies
   * (moto's INITIAL_NO_AUTH_ACTION_COUNT).
   */
  enforceIam: (unauthenticated?: number) => Promise<void>;
  stop: () => Promise<void>;
}

export interface MotoOptions {
  /**
   * Run moto through testbed/moto_scoped.py: with IAM enforcement on, ECR,
   * ECS, Secrets Manager and CloudFormation calls are authorised on the
   * resource ARN AWS authorises them on (moto alone passes "*"), and the
   * unsigned sts:AssumeRoleWithWebIdentity goes through. Off by default: every
   * other test runs moto as it is.
   */
  enforceResources?: boolean;
  /** moto's own settings, e.g. MOTO_ECS_SERVICE_RUNNING (the running count of ECS services). */
  env?: Record<string, string>;
}

const SCOPED_LAUNCHER = fileURLToPath(new URL('./moto_scoped.py', import.meta.url));

export async function startMoto(options: MotoOptions = {}): Promise<Moto> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ['-H', '127.0.0.1', '-p', String(port)];
  const env = options.env ? { ...process.env, ...options.env } : undefined;
  const proc = options.enforceResources
    ? startProcess('moto', motoPythonPath(), [SCOPED_LAUNCHER, ...args], env)
    : startProcess('moto', motoServerPath(), args, env);
  await waitFor('moto server', async () => ((await fetch(`${url}/moto-api/`)).ok ? true : undefined), {
    diagnostics: proc.output,
  });
  return {
    url,
    pid: proc.child.pid,
    reset: async () => {
      await fetch(`${url}/moto-api/reset`, { method: 'POST' });
    },
    enforceIam: async (unauthenticated = 0) => {
      const r = await fetch(`${url}/moto-api/reset-auth`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: String(unauthenticated),
      });
      if (!r.ok) throw new Error(`moto reset-auth: HTTP ${r.status}: ${await r.text()}`);
    },
    stop: () => proc.stop(),
  };
}
