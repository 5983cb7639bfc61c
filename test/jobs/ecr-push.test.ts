// examples/gitlab-ci/ecr-push.gitlab-ci.yml, run for real with the ecrPush preset.
// docker is the harness's stand-in (test/jobs/bin/docker): it pushes through the
// ECR actions a registry push is authorised on, with the job's credentials.
import { describe, expect, it } from 'vitest';
import { expectRefused, JOB_TEST_TIMEOUT, jobsTestbed } from './harness.ts';

const t = jobsTestbed();

describe('ecr-push.gitlab-ci.yml with the ecrPush preset', { timeout: JOB_TEST_TIMEOUT }, () => {
  it('logs in, builds and pushes the image to the repository; another repository is refused', async () => {
    for (const repository of ['payments/api', 'billing/api'])
      await t.admin(['ecr', 'create-repository', '--repository-name', repository]);
    const grants = [{ ecrPush: { repositories: ['payments/api'] } }];
    await t.federate('ecr', grants);

    const run = await t.run('ecr-push.gitlab-ci.yml', 'ecr-push');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    // The job's ID token is one the role's trust policy admits (moto's STS does not check).
    const admitted = await t.admits(run);
    expect(admitted.code, admitted.stdout + admitted.stderr).toBe(0);
    expect(run.stdout).toContain('Login Succeeded');
    const tag = run.env.CI_COMMIT_SHORT_SHA;
    expect(
      await t.admin([
        'ecr',
        'describe-images',
        '--repository-name',
        'payments/api',
        '--query',
        'imageDetails[].imageTags[]',
        '--output',
        'text',
      ]),
    ).toBe(tag);

    // The same job again: the layers are there, only the manifest is put.
    const again = await t.run('ecr-push.gitlab-ci.yml', 'ecr-push', { IMAGE_TAG: 'again' });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Layer already exists');

    const refused = await t.run('ecr-push.gitlab-ci.yml', 'ecr-push', { ECR_REPOSITORY: 'billing/api' });
    // Logged in (GetAuthorizationToken is on "*"), refused at the repository.
    expect(refused.stdout).toContain('Login Succeeded');
    expectRefused(refused, 'ecr:BatchCheckLayerAvailability');
    expect(
      await t.admin([
        'ecr',
        'describe-images',
        '--repository-name',
        'billing/api',
        '--query',
        'length(imageDetails)',
      ]),
    ).toBe('0');
  });
});
