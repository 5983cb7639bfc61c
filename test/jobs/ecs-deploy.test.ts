// examples/gitlab-ci/ecs-deploy.gitlab-ci.yml, run for real with the ecsDeploy preset.
import { describe, expect, it } from 'vitest';
import { ACCOUNT, expectRefused, JOB_TEST_TIMEOUT, jobsTestbed } from './harness.ts';

const t = jobsTestbed();
const TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/api-task`;
const EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/api-task-execution`;

describe('ecs-deploy.gitlab-ci.yml with the ecsDeploy preset', { timeout: JOB_TEST_TIMEOUT }, () => {
  it('puts the service on a new revision with the new image; another service is refused', async () => {
    await t.admin(['ecs', 'create-cluster', '--cluster-name', 'prod']);
    await t.admin([
      'ecs',
      'register-task-definition',
      '--family',
      'api',
      '--task-role-arn',
      TASK_ROLE,
      '--execution-role-arn',
      EXECUTION_ROLE,
      '--container-definitions',
      JSON.stringify([
        { name: 'api', image: 'registry.example.com/payments/api:old', memory: 256, essential: true },
        { name: 'log-router', image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:2', memory: 64 },
      ]),
    ]);
    for (const service of ['api', 'billing'])
      await t.admin([
        'ecs',
        'create-service',
        '--cluster',
        'prod',
        '--service-name',
        service,
        '--task-definition',
        'api:1',
        '--desired-count',
        '1',
      ]);
    const grants = [
      { ecsDeploy: { cluster: 'prod', services: ['api'], taskRoleArns: [TASK_ROLE, EXECUTION_ROLE] } },
    ];
    await t.federate('ecs', grants);

    const run = await t.run('ecs-deploy.gitlab-ci.yml', 'ecs-deploy');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    // The job's ID token is one the role's trust policy admits (moto's STS does not check).
    const admitted = await t.admits(run);
    expect(admitted.code, admitted.stdout + admitted.stderr).toBe(0);
    const image = `${run.env.CI_REGISTRY_IMAGE}:${run.env.CI_COMMIT_SHORT_SHA}`;
    const service = await t.admin([
      'ecs',
      'describe-services',
      '--cluster',
      'prod',
      '--services',
      'api',
      '--query',
      'services[0].taskDefinition',
      '--output',
      'text',
    ]);
    expect(service).toMatch(/task-definition\/api:2$/);
    // The new image in its container only; the rest, roles included, as it was.
    const next = JSON.parse(
      await t.admin([
        'ecs',
        'describe-task-definition',
        '--task-definition',
        'api:2',
        '--query',
        'taskDefinition',
      ]),
    );
    expect(next).toMatchObject({ taskRoleArn: TASK_ROLE, executionRoleArn: EXECUTION_ROLE });
    expect(next.containerDefinitions.map((c: { name: string; image: string }) => [c.name, c.image])).toEqual([
      ['api', image],
      ['log-router', 'public.ecr.aws/aws-observability/aws-for-fluent-bit:2'],
    ]);

    const refused = await t.run('ecs-deploy.gitlab-ci.yml', 'ecs-deploy', { ECS_SERVICE: 'billing' });
    expectRefused(refused, 'ecs:UpdateService');
    expect(
      await t.admin([
        'ecs',
        'describe-services',
        '--cluster',
        'prod',
        '--services',
        'billing',
        '--query',
        'services[0].taskDefinition',
        '--output',
        'text',
      ]),
    ).toMatch(/task-definition\/api:1$/);
  });
});
