// The testbed never leaves processes behind: not when its runner is
// interrupted, and not when its runner is killed outright.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startOperatorProcess } from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';

const CLI = fileURLToPath(new URL('../../testbed/cli.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    // A zombie (killed, not yet reaped) has stopped running: count it as gone.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function startTestbed() {
  const proc = startOperatorProcess(CLI, ['--no-crds']);
  const line = await proc.waitForLog((l) => Array.isArray(l.pids), 120_000);
  const pids = line.pids as number[];
  expect(pids).toHaveLength(2);
  expect(pids.every(alive)).toBe(true);
  return { proc, pids, dir: String(line.dir) };
}

describe('testbed clean-up', () => {
  it('stops etcd and kube-apiserver and removes its files when the runner is interrupted', async () => {
    const { proc, pids, dir } = await startTestbed();
    proc.child.kill('SIGINT');
    await proc.exited;
    await waitFor('testbed processes gone', async () => (pids.some(alive) ? undefined : true), {
      timeoutMs: 10_000,
    });
    expect(existsSync(dir)).toBe(false);
  });

  it('stops etcd and kube-apiserver when the runner is SIGKILLed', async () => {
    const { proc, pids, dir } = await startTestbed();
    proc.child.kill('SIGKILL');
    await proc.exited;
    await waitFor('testbed processes gone', async () => (pids.some(alive) ? undefined : true), {
      timeoutMs: 10_000,
    });
    // A killed runner cannot remove its files; this test does.
    rmSync(dir, { recursive: true, force: true });
  });
});
