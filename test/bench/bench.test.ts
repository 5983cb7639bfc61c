// `npm run bench` at a tiny N, so the script keeps working (it is not part of
// the test command at its real size; docs/bench.md). It starts a testbed of its
// own, builds dist/, and must print its table, write its JSON, and find what a
// steady-state resync must be: reads only; and, in the key step, one key per
// user, the one GitLab names, after a revocation.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { removeOnExit } from '../../testbed/processes.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['scripts/bench.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run bench', () => {
  it('measures a cold start, latency, a resync and keys, and prints and writes the figures', {
    timeout: 240_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gao-bench-'));
    removeOnExit(dir);
    const out = join(dir, 'bench.json');
    const { code, stdout, stderr } = await run([
      '--n',
      '3',
      '--samples',
      '2',
      '--settle',
      '1',
      '--keys',
      '2',
      '--out',
      out,
    ]);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toMatch(/start → all Ready\s+[\d.]+ s/);
    // Reads per federation include, at this N, a share of the one discovery and provider read.
    expect(stdout).toMatch(/federation resync: reads \/ writes\s+[\d.]+ \/ 0\s/);
    expect(stdout).toContain(`JSON: ${out}`);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(result.n).toBe(3);
    expect(result.applyToReady.samples).toBe(2);
    expect(result.resync.writes).toBe(0);
    expect(result.resync.kubernetesStatusWrites).toBe(0);
    expect(result.callsPerResource.federationSingleCreate['iam:CreateRole']).toBe(1);
    expect(result.coldStart.peakRssMb).toBeGreaterThan(0);
    // The key step: each user made one key, then replaced it at rotate-now and deleted the old one.
    expect(stdout).toMatch(/keys per user at the end\s+1\s/);
    expect(result.keys.k).toBe(2);
    expect(result.keys.firstKey.calls['iam:CreateAccessKey']).toBe(1);
    expect(result.keys.rotateNow.calls['iam:DeleteAccessKey']).toBe(1);
    expect(result.keys.rotateNow.revokedTheLiveKey).toBe(2);
    expect(result.keys.end).toMatchObject({
      users: 2,
      keysPerUser: { min: 1, max: 1 },
      oneKeyNamedInGitLab: 2,
    });
  });
});
