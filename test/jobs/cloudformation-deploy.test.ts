// examples/gitlab-ci/cloudformation-deploy.gitlab-ci.yml, run for real with the
// cloudFormationDeploy preset: a stack created, then updated by a second run.
import { describe, expect, it } from 'vitest';
import { jobsTestbed } from './harness.ts';

const t = jobsTestbed();

describe('cloudformation-deploy.gitlab-ci.yml with the cloudFormationDeploy preset', () => {
  it('creates and then updates the stack; another stack is refused', async () => {
    const grants = [{ cloudFormationDeploy: { stackNames: ['payments-*'] } }];
    await t.federate('cfn', grants);
    const status = () =>
      t.admin([
        'cloudformation',
        'describe-stacks',
        '--stack-name',
        'payments-web',
        '--query',
        'Stacks[0].[StackStatus,Parameters[0].ParameterValue]',
        '--output',
        'text',
      ]);

    const created = await t.run('cloudformation-deploy.gitlab-ci.yml', 'cloudformation-deploy');
    expect(created.code, `${created.stdout}\n${created.stderr}`).toBe(0);
    expect(created.stdout).toContain('payments-web\tCREATE_COMPLETE');
    expect(await status()).toBe(`CREATE_COMPLETE\t${created.env.CI_COMMIT_SHORT_SHA}`);
    expect(
      await t.admin([
        'ssm',
        'get-parameter',
        '--name',
        '/payments-web/release',
        '--query',
        'Parameter.Value',
        '--output',
        'text',
      ]),
    ).toBe(created.env.CI_COMMIT_SHORT_SHA);

    // The second deploy of a stack is an update: it reads the template summary first.
    const updated = await t.run('cloudformation-deploy.gitlab-ci.yml', 'cloudformation-deploy', {
      CI_COMMIT_SHORT_SHA: 'f00dbabe',
    });
    expect(updated.code, `${updated.stdout}\n${updated.stderr}`).toBe(0);
    expect(await status()).toBe('UPDATE_COMPLETE\tf00dbabe');

    const refused = await t.run('cloudformation-deploy.gitlab-ci.yml', 'cloudformation-deploy', {
      STACK_NAME: 'billing-web',
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('AccessDenied');
    const stacks = await t.admin([
      'cloudformation',
      'list-stacks',
      '--query',
      'StackSummaries[].StackName',
      '--output',
      'text',
    ]);
    expect(stacks).not.toContain('billing-web');
  });
});
