// The grant presets' documents: exactly the actions docs/grants.md lists, each
// Resource scoped to what the spec names, "*" only where AWS has no resource
// type for the action.
import { describe, expect, it } from 'vitest';
import type { Grant } from '../../src/api/v1alpha1/index.ts';
import { grantPolicies, needsRegion, passedRoles, scopeOf } from '../../src/policy/grants.ts';
import { asList, type PolicyStatement, statementsOf } from '../../src/policy/iam-document.ts';

const SCOPE = scopeOf('arn:aws:iam::123456789012:role/gitlab/payments-deploy', 'eu-west-1');
const statements = (grant: Grant) => statementsOf(Object.values(grantPolicies([grant], SCOPE))[0]!);

describe('grant presets', () => {
  it('ecrPush: log in anywhere, push only to the named repositories', () => {
    const [login, push] = statements({ ecrPush: { repositories: ['payments/api', 'payments/workers-*'] } });
    expect(login).toEqual({
      Sid: 'EcrLogin',
      Effect: 'Allow',
      Action: 'ecr:GetAuthorizationToken',
      Resource: '*',
    });
    expect(push).toEqual({
      Sid: 'EcrPush',
      Effect: 'Allow',
      Action: [
        'ecr:BatchCheckLayerAvailability',
        'ecr:BatchGetImage',
        'ecr:CompleteLayerUpload',
        'ecr:InitiateLayerUpload',
        'ecr:PutImage',
        'ecr:UploadLayerPart',
      ],
      Resource: [
        'arn:aws:ecr:eu-west-1:123456789012:repository/payments/api',
        'arn:aws:ecr:eu-west-1:123456789012:repository/payments/workers-*',
      ],
    });
  });

  it('ecsDeploy: the named services, and the task roles only to ECS tasks', () => {
    const task = 'arn:aws:iam::123456789012:role/payments/api-task';
    expect(statements({ ecsDeploy: { cluster: 'prod', services: ['api'], taskRoleArns: [task] } })).toEqual([
      {
        Sid: 'EcsTaskDefinitions',
        Effect: 'Allow',
        Action: ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'],
        Resource: '*',
      },
      {
        Sid: 'EcsServices',
        Effect: 'Allow',
        Action: ['ecs:DescribeServices', 'ecs:UpdateService'],
        Resource: ['arn:aws:ecs:eu-west-1:123456789012:service/prod/api'],
      },
      {
        Sid: 'EcsPassRoles',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: [task],
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
    ]);
    // Without task roles, no iam:PassRole at all.
    const without = statements({ ecsDeploy: { cluster: 'prod', services: ['api'] } });
    expect(without.flatMap((s) => asList(s.Action))).not.toContain('iam:PassRole');
  });

  it('secretsRead: GetSecretValue of the named secrets, nothing else', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:payments/db-??????';
    expect(statements({ secretsRead: { secretArns: [arn] } })).toEqual([
      { Sid: 'SecretsRead', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [arn] },
    ]);
  });

  it('cloudFormationDeploy: change sets of the named stacks; the service role and the CDK roles only when asked', () => {
    const [stacks, ...rest] = statements({ cloudFormationDeploy: { stackNames: ['payments-*'] } });
    expect(rest).toEqual([]);
    expect(stacks).toEqual({
      Sid: 'CloudFormationStacks',
      Effect: 'Allow',
      Action: [
        'cloudformation:CreateChangeSet',
        'cloudformation:DescribeChangeSet',
        'cloudformation:DescribeStacks',
        'cloudformation:ExecuteChangeSet',
        'cloudformation:GetTemplateSummary',
      ],
      Resource: ['arn:aws:cloudformation:eu-west-1:123456789012:stack/payments-*/*'],
    });
    const role = 'arn:aws:iam::123456789012:role/cfn-payments';
    const [withRole, changeSets, pass, cdk] = statements({
      cloudFormationDeploy: { stackNames: ['payments-web'], roleArn: role, cdk: true, cdkQualifier: 'pay' },
    });
    // With a service role, a change set that does not name it is refused.
    expect(asList(withRole!.Action)).not.toContain('cloudformation:CreateChangeSet');
    expect(changeSets).toEqual({
      Sid: 'CloudFormationChangeSets',
      Effect: 'Allow',
      Action: 'cloudformation:CreateChangeSet',
      Resource: ['arn:aws:cloudformation:eu-west-1:123456789012:stack/payments-web/*'],
      Condition: { StringEquals: { 'cloudformation:RoleArn': role } },
    });
    expect(pass).toEqual({
      Sid: 'CloudFormationPassRole',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: [role],
      Condition: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
    });
    expect(cdk).toEqual({
      Sid: 'CdkBootstrapRoles',
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: [
        'arn:aws:iam::123456789012:role/cdk-pay-deploy-role-123456789012-eu-west-1',
        'arn:aws:iam::123456789012:role/cdk-pay-file-publishing-role-123456789012-eu-west-1',
        'arn:aws:iam::123456789012:role/cdk-pay-image-publishing-role-123456789012-eu-west-1',
        'arn:aws:iam::123456789012:role/cdk-pay-lookup-role-123456789012-eu-west-1',
      ],
    });
    const [, defaultCdk] = statements({ cloudFormationDeploy: { stackNames: ['payments-web'], cdk: true } });
    expect(asList(defaultCdk!.Resource)[0]).toBe(
      'arn:aws:iam::123456789012:role/cdk-hnb659fds-deploy-role-123456789012-eu-west-1',
    );
  });

  it('s3Deploy: list the bucket, write and delete its objects', () => {
    expect(statements({ s3Deploy: { buckets: ['payments-site'] } })).toEqual([
      { Sid: 'S3List', Effect: 'Allow', Action: 's3:ListBucket', Resource: ['arn:aws:s3:::payments-site'] },
      {
        Sid: 'S3Objects',
        Effect: 'Allow',
        Action: ['s3:DeleteObject', 's3:PutObject'],
        Resource: ['arn:aws:s3:::payments-site/*'],
      },
    ]);
  });

  it('one inline policy per preset, named gitlab-aws-grant-<preset>, in the principal partition', () => {
    const policies = grantPolicies(
      [{ s3Deploy: { buckets: ['site'] } }, { ecrPush: { repositories: ['api'] } }],
      scopeOf('arn:aws-cn:iam::123456789012:user/ci', 'cn-north-1'),
    );
    expect(Object.keys(policies)).toEqual(['gitlab-aws-grant-s3Deploy', 'gitlab-aws-grant-ecrPush']);
    expect(JSON.stringify(policies)).toContain('arn:aws-cn:ecr:cn-north-1:123456789012:repository/api');
    expect(grantPolicies(undefined, SCOPE)).toEqual({});
  });

  it('never "*" where AWS lets one scope the action', () => {
    const all = Object.values(
      grantPolicies(
        [
          { ecrPush: { repositories: ['a'] } },
          {
            ecsDeploy: { cluster: 'c', services: ['s'], taskRoleArns: ['arn:aws:iam::123456789012:role/t'] },
          },
          { secretsRead: { secretArns: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-*'] } },
          {
            cloudFormationDeploy: {
              stackNames: ['s'],
              cdk: true,
              roleArn: 'arn:aws:iam::123456789012:role/r',
            },
          },
          { s3Deploy: { buckets: ['bucket'] } },
        ],
        SCOPE,
      ),
    ).flatMap((d) => statementsOf(d));
    const unscoped = all
      .filter((s: PolicyStatement) => asList(s.Resource).includes('*'))
      .flatMap((s) => asList(s.Action));
    // The only actions without a resource type (Service Authorization Reference).
    expect(unscoped.sort()).toEqual([
      'ecr:GetAuthorizationToken',
      'ecs:DescribeTaskDefinition',
      'ecs:RegisterTaskDefinition',
    ]);
    for (const s of all) expect(s.Effect).toBe('Allow');
  });

  it('which grants need a region, and which roles they pass', () => {
    expect(
      needsRegion([
        { secretsRead: { secretArns: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-*'] } },
      ]),
    ).toBe(false);
    expect(needsRegion([{ s3Deploy: { buckets: ['bucket'] } }, { ecrPush: { repositories: ['a'] } }])).toBe(
      true,
    );
    expect(
      passedRoles([
        { s3Deploy: { buckets: ['bucket'] } },
        {
          ecsDeploy: {
            cluster: 'c',
            services: ['s'],
            taskRoleArns: ['arn:aws:iam::1:role/a', 'arn:aws:iam::1:role/b'],
          },
        },
        { cloudFormationDeploy: { stackNames: ['s'], roleArn: 'arn:aws:iam::1:role/c' } },
      ]),
    ).toEqual([
      { field: 'grants[1].ecsDeploy.taskRoleArns[0]', arn: 'arn:aws:iam::1:role/a' },
      { field: 'grants[1].ecsDeploy.taskRoleArns[1]', arn: 'arn:aws:iam::1:role/b' },
      { field: 'grants[2].cloudFormationDeploy.roleArn', arn: 'arn:aws:iam::1:role/c' },
    ]);
  });
});
