// Helpers for tests that talk to the testbed's API server as a user would:
// through kubectl and through @kubernetes/client-node.
import { execFile } from 'node:child_process';
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(
  args: string[],
  options: { stdin?: string; kubeconfig?: string } = {},
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      inject('kubectl'),
      ['--kubeconfig', options.kubeconfig ?? inject('kubeconfig'), ...args],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  });
}

export function kubeConfig(path = inject('kubeconfig')): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** A namespace of its own for each test, so tests never see each other's objects. */
export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  const result = await kubectl(['create', 'namespace', name]);
  if (result.code !== 0) throw new Error(result.stderr);
  return name;
}
