// `npm run demo` in its non-interactive mode (as CI runs it): the set-up has
// already run (npm test does it), so this starts scripts/demo.ts directly. The
// demo starts a testbed of its own, applies examples/ and must exit 0.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function runDemo(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['scripts/demo.ts'], {
      cwd: ROOT,
      env: { ...process.env, DEMO_NONINTERACTIVE: '1', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c) => {
      output += c;
    });
    child.stderr.on('data', (c) => {
      output += c;
    });
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('npm run demo (non-interactive)', () => {
  it('brings everything up, shows the product working and exits 0', { timeout: 240_000 }, async () => {
    const { code, output } = await runDemo();
    expect(code, output).toBe(0);
    // The resources went Ready, as kubectl shows them.
    expect(output).toMatch(/gitlabawsfederation\.gitlab-aws\.io\/payments-deploy\s+True\s+Ready/);
    expect(output).toMatch(/gitlabawsfederation\.gitlab-aws\.io\/libs-release\s+True\s+Ready/);
    // The trust policy, pretty-printed.
    expect(output).toContain('"Action": "sts:AssumeRoleWithWebIdentity"');
    expect(output).toContain('"project_path:payments/api:ref_type:branch:ref:release/*"');
    // The GitLab variables.
    expect(output).toMatch(
      /ROLE_ARN\s+= arn:aws:iam::123456789012:role\/gitlab\/payments\/gitlab-payments-deploy/,
    );
    // Tenancy: the policy's boundary, and an administrator role refused.
    expect(output).toContain(
      'Permissions boundary (from GitLabAwsPolicy team-payments, the spec names none): arn:aws:iam::123456789012:policy/gitlab-boundary',
    );
    expect(output).toMatch(/reason PolicyViolation/);
    expect(output).toContain(
      'GitLabAwsPolicy team-payments: spec.access[0].project payroll/api is not under the allowed paths [payments]',
    );
    expect(output).toContain('managed by gitlab-aws-operator: team-payments/payments-deploy');
    // check-access, with the reasons.
    expect(output).toMatch(/ALLOWED: project_path:payments\/api:ref_type:branch:ref:main .* may assume/);
    expect(output).toMatch(
      /DENIED: project_path:payments\/api:ref_type:branch:ref:feature\/login .* may not assume/,
    );
    expect(output).toContain('StringLike failed');
    // The connection: PENDING with the message a user reads, then AVAILABLE.
    expect(output).toMatch(/gitlab-main\s+False\s+PENDING/);
    expect(output).toContain('a user with the Owner role in GitLab must complete the handshake');
    expect(output).toMatch(/gitlab-main\s+True\s+AVAILABLE/);
    expect(output).toContain('Demo finished');
    // Non-interactive mode never waits for Enter.
    expect(output).not.toContain('[Enter]');
  });
});
