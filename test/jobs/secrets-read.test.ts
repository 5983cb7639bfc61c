// examples/gitlab-ci/secrets-read.gitlab-ci.yml, run for real with the secretsRead preset.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACCOUNT, expectRefused, JOB_TEST_TIMEOUT, jobsTestbed, REGION } from './harness.ts';

const t = jobsTestbed();
const VALUE = 'postgres://payments:s3cr3t-8d1f@db.internal/payments';

describe('secrets-read.gitlab-ci.yml with the secretsRead preset', { timeout: JOB_TEST_TIMEOUT }, () => {
  it('reads the secret into a file without printing it; another secret is refused', async () => {
    for (const [name, value] of [
      ['payments/db', VALUE],
      ['payments/db-admin', 'admin-value'],
    ])
      await t.admin(['secretsmanager', 'create-secret', '--name', name!, '--secret-string', value!]);
    // The ARN as docs/grants.md advises: the name and Secrets Manager's six-character suffix.
    const grants = [
      {
        secretsRead: {
          secretArns: [`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:payments/db-??????`],
        },
      },
    ];
    await t.federate('secrets', grants);

    const run = await t.run('secrets-read.gitlab-ci.yml', 'secrets-read');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    // The job's ID token is one the role's trust policy admits (moto's STS does not check).
    const admitted = await t.admits(run);
    expect(admitted.code, admitted.stdout + admitted.stderr).toBe(0);
    const files = readdirSync(run.tmp).map((f) => readFileSync(join(run.tmp, f), 'utf8'));
    expect(files).toContain(`${VALUE}\n`);
    expect(run.stdout + run.stderr).not.toContain(VALUE);
    expect(run.stdout).toContain(`Read payments/db into ${run.tmp}/`);

    const refused = await t.run('secrets-read.gitlab-ci.yml', 'secrets-read', {
      SECRET_ID: 'payments/db-admin',
    });
    expectRefused(refused, 'secretsmanager:GetSecretValue');
    expect(refused.stdout + refused.stderr).not.toContain('admin-value');
  });
});
