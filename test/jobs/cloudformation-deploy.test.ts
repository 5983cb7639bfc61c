// examples/gitlab-ci/cloudformation-deploy.gitlab-ci.yml, run for real with the
// cloudFormationDeploy preset and a service role: a stack created, then updated
// by a second run; a change set without the service role, or for another
// stack, is refused.
import { describe, expect, it } from 'vitest';
import { ACCOUNT, expectRefused, JOB_TEST_TIMEOUT, jobsTestbed } from './harness.ts';

const t = jobsTestbed();
const SERVICE_ROLE = `arn:aws:iam::${ACCOUNT}:role/payments-cloudformation`;

describe('cloudformation-deploy.gitlab-ci.yml with the cloudFormationDeploy preset', {
  timeout: JOB_TEST_TIMEOUT,
}, () => {
  it('creates and then updates the stack with the service role; without it, or another stack, is refused', async () => {
    await t.admin([
      'iam',
      'create-role',
      '--role-name',
      'payments-cloudformation',
      '--assume-role-policy-document',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'cloudformation.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      }),
    ]);
    const grants = [{ cloudFormationDeploy: { stackNames: ['payments-*'], roleArn: SERVICE_ROLE } }];
    await t.federate('cfn', grants);
    const withRole = { CFN_ROLE_ARN: SERVICE_ROLE };
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

    const created = await t.run('cloudformation-deploy.gitlab-ci.yml', 'cloudformation-deploy', withRole);
    expect(created.code, `${created.stdout}\n${created.stderr}`).toBe(0);
    // The job's ID token is one the role's trust policy admits (moto's STS does not check).
    const admitted = await t.admits(created);
    expect(admitted.code, admitted.stdout + admitted.stderr).toBe(0);
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
      ...withRole,
      CI_COMMIT_SHORT_SHA: 'f00dbabe',
    });
    expect(updated.code, `${updated.stdout}\n${updated.stderr}`).toBe(0);
    expect(await status()).toBe('UPDATE_COMPLETE\tf00dbabe');

    // The job as copied, CFN_ROLE_ARN left empty: the change set would act with the job's role.
    const withoutRole = await t.run('cloudformation-deploy.gitlab-ci.yml', 'cloudformation-deploy', {
      CI_COMMIT_SHORT_SHA: 'deadbeef',
    });
    expectRefused(withoutRole, 'cloudformation:CreateChangeSet');
    expect(await status()).toBe('UPDATE_COMPLETE\tf00dbabe');

    const refused = await t.run('cloudformation-deploy.gitlab-ci.yml', 'cloudformation-deploy', {
      ...withRole,
      STACK_NAME: 'billing-web',
    });
    expectRefused(refused, 'cloudformation:DescribeStacks');
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
