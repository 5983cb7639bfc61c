// examples/gitlab-ci/ecs-deploy.gitlab-ci.yml, run for real with the ecsDeploy preset.
import { describe, expect, it } from 'vitest';
import { jobsTestbed } from './harness.ts';

const t = jobsTestbed();

describe('ecs-deploy.gitlab-ci.yml with the ecsDeploy preset', () => {
  it('puts the service on a new revision with the new image; another service is refused', async () => {
    await t.admin(['ecs', 'create-cluster', '--cluster-name', 'prod']);
    await t.admin([
      'ecs',
      'register-task-definition',
      '--family',
      'api',
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
    const grants = [{ ecsDeploy: { cluster: 'prod', services: ['api'] } }];
    await t.federate('ecs', grants);

    const run = await t.run('ecs-deploy.gitlab-ci.yml', 'ecs-deploy');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
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
    const images = await t.admin([
      'ecs',
      'describe-task-definition',
      '--task-definition',
      'api:2',
      '--query',
      'taskDefinition.containerDefinitions[].[name,image]',
      '--output',
      'text',
    ]);
    expect(images.split('\n')).toEqual([
      `api\t${image}`,
      'log-router\tpublic.ecr.aws/aws-observability/aws-for-fluent-bit:2',
    ]);

    const refused = await t.run('ecs-deploy.gitlab-ci.yml', 'ecs-deploy', { ECS_SERVICE: 'billing' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('AccessDenied');
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
