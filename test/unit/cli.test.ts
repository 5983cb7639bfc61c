// The binary as a user runs it: exit codes and messages.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('gitlab-aws-operator CLI', () => {
  it('exits 2 with a message on an unknown flag, before touching any cluster', async () => {
    const result = await run(['run', '--no-such-flag'], { KUBECONFIG: '/nonexistent' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "gitlab-aws-operator: unknown flag --no-such-flag\nRun 'gitlab-aws-operator help' for the flags.\n",
    );
  });

  it('exits 2 on a bad value from the environment', async () => {
    const result = await run(['run'], { RESYNC_INTERVAL: 'often' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('invalid value "often" for RESYNC_INTERVAL');
  });

  it('prints help with every flag and its environment variable', async () => {
    const result = await run(['help']);
    expect(result.code).toBe(0);
    for (const text of [
      '--kubeconfig',
      '[$KUBECONFIG]',
      '--namespaces',
      '[$WATCH_NAMESPACES]',
      '--leader-elect',
      '--resync-interval',
    ]) {
      expect(result.stdout).toContain(text);
    }
  });
});
