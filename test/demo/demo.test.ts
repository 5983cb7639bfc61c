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
    // Method IAMUserAccessKeys: the user and its key, NEXT ROTATION, the variables' flags.
    expect(output).toMatch(/NAME\s+READY\s+REASON\s+ROLE\s+NEXT ROTATION\s+AGE/);
    expect(output).toMatch(/reporting-batch\s+True\s+Ready\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s/);
    expect(output).toMatch(
      /reporting-batch\s+IAMUserAccessKeys\s+arn:aws:iam::123456789012:user\/gitlab\/reporting\/gitlab-reporting-batch\s+AKIA[A-Z0-9]{16}/,
    );
    expect(output).toMatch(/✔ UserReady\s+Ready/);
    expect(output).toMatch(/✔ AccessKeyRotated\s+Rotated/);
    expect(output).toMatch(/AWS_SECRET_ACCESS_KEY = \(hidden[^)]*\)\s+scope \*, masked, hidden, protected/);
    expect(output).toMatch(/AWS_ACCESS_KEY_ID\s+= AKIA[A-Z0-9]{16}\s+scope \*, masked, protected/);
    // The legacy audit: the pair pasted by hand in scope production, not the operator's own.
    expect(output).toContain('- project reporting/batch AWS_ACCESS_KEY_ID (scope production)');
    expect(output).toContain('- project reporting/batch AWS_SECRET_ACCESS_KEY (scope production)');
    expect(output).not.toMatch(/- project reporting\/batch AWS_\w+ \(scope \*\)/);
    expect(output).toContain('Event Warning LegacyCredentialsFound');
    // rotate-now: a new key, the old one deleted at once, in GitLab and in IAM.
    const [, oldKey, newKey] = /access key (AKIA\w{16}) → (AKIA\w{16}); next rotation/.exec(output) ?? [];
    expect(oldKey).toBeDefined();
    expect(newKey).not.toBe(oldKey);
    expect(output).toContain(`${oldKey} was deleted at once`);
    expect(output).toContain(`GitLab: AWS_ACCESS_KEY_ID = ${newKey}; AWS_SECRET_ACCESS_KEY replaced`);
    // IAM lists only the new key after the rotation.
    expect(output).toMatch(
      new RegExp(
        `gitlab-reporting-batch\\n\\s+${newKey}\\s+Active[^\\n]*\\n\\s+${oldKey} was deleted at once`,
      ),
    );
    expect(output).toContain('Event Normal AccessKeyRevoked');
    expect(output).toMatch(/IAM: .*CreateAccessKey, DeleteAccessKey/);
    // The migration to OIDC: the role and ROLE_ARN first, then the user, its key and the key variables go.
    expect(output).toMatch(
      /reporting-batch\s+False\s+Propagating\s+arn:aws:iam::123456789012:role\/gitlab\/reporting\/gitlab-reporting-batch/,
    );
    expect(output).toMatch(
      /reporting-batch\s+True\s+Ready\s+arn:aws:iam::123456789012:role\/gitlab\/reporting\/gitlab-reporting-batch/,
    );
    expect(output).toContain(
      'IAM user arn:aws:iam::123456789012:user/gitlab/reporting/gitlab-reporting-batch: deleted, and its access keys with it',
    );
    expect(output).toContain(
      'the IAM user and its keys deleted, no AWS key variable left in reporting/batch',
    );
    expect(output).toContain('Event Normal LegacyCredentialsRemoved');
    // Never a secret: the demo checks its own output against what GitLab held, and the hand-made one.
    expect(output).toMatch(/✔ no secret in this output: none of the [3-9] AWS_SECRET_ACCESS_KEY values/);
    expect(output).not.toContain('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    expect(output).toContain('Demo finished');
    // Non-interactive mode never waits for Enter.
    expect(output).not.toContain('[Enter]');
  });
});
