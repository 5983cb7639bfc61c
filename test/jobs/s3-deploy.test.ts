// examples/gitlab-ci/s3-deploy.gitlab-ci.yml, run for real with the s3Deploy preset.
import { describe, expect, it } from 'vitest';
import { expectRefused, JOB_TEST_TIMEOUT, jobsTestbed } from './harness.ts';

const t = jobsTestbed();

describe('s3-deploy.gitlab-ci.yml with the s3Deploy preset', { timeout: JOB_TEST_TIMEOUT }, () => {
  it('syncs public/ into the bucket, deleting what is gone; another bucket is refused', async () => {
    for (const bucket of ['payments-site', 'other-site']) await t.admin(['s3', 'mb', `s3://${bucket}`]);
    await t.admin(['s3api', 'put-object', '--bucket', 'payments-site', '--key', 'old.html']);
    const grants = [{ s3Deploy: { buckets: ['payments-site'] } }];
    await t.federate('s3', grants);

    const run = await t.run('s3-deploy.gitlab-ci.yml', 's3-deploy');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    // The job's ID token is one the role's trust policy admits (moto's STS does not check).
    const admitted = await t.admits(run);
    expect(admitted.code, admitted.stdout + admitted.stderr).toBe(0);
    expect(run.stdout).toContain('$ aws s3 sync "./$SITE_DIR" "s3://$BUCKET" --delete');
    const keys = await t.admin([
      's3api',
      'list-objects-v2',
      '--bucket',
      'payments-site',
      '--query',
      'Contents[].Key',
      '--output',
      'text',
    ]);
    expect(keys.split(/\s+/)).toEqual(['index.html']);

    const refused = await t.run('s3-deploy.gitlab-ci.yml', 's3-deploy', { BUCKET: 'other-site' });
    expectRefused(refused, 'ListObjectsV2');
    expect(
      await t.admin([
        's3api',
        'list-objects-v2',
        '--bucket',
        'other-site',
        '--query',
        'length(Contents || `[]`)',
      ]),
    ).toBe('0');
  });

  it('does not run on a branch other than the default one (rules)', async () => {
    const run = await t.run('s3-deploy.gitlab-ci.yml', 's3-deploy', {}, 'feature/x');
    expect(run.ran).toBe(false);
  });
});
