// moto started with enforceResources (testbed/moto_scoped.py) authorises ECR,
// ECS, Secrets Manager and CloudFormation calls on the resource AWS does, and
// S3 on its bucket and object ARNs: a policy scoped to ARNs allows the named
// resource and refuses another. Driven through the testbed's AWS CLI, with
// credentials from an unsigned AssumeRoleWithWebIdentity, as a job gets them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, awsCliEnv, type CommandResult, createMotoAdmin } from '../../testbed/aws-cli.ts';
import { type Moto, startMoto } from '../../testbed/moto.ts';
import { removeOnExit } from '../../testbed/processes.ts';

const REGION = 'eu-west-1';
const ARN = `${REGION}:123456789012`;
const ROLE = 'scoped-job';
const CFN_ROLE = 'arn:aws:iam::123456789012:role/cloudformation';

const policy = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    {
      Effect: 'Allow',
      Action: ['ecr:BatchCheckLayerAvailability', 'ecr:InitiateLayerUpload', 'ecr:DescribeRepositories'],
      Resource: `arn:aws:ecr:${ARN}:repository/payments/api`,
    },
    {
      Effect: 'Allow',
      Action: ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'],
      Resource: '*',
    },
    {
      Effect: 'Allow',
      Action: ['ecs:DescribeServices', 'ecs:UpdateService'],
      Resource: `arn:aws:ecs:${ARN}:service/prod/api`,
    },
    {
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      // IAM's `?`: the six characters Secrets Manager appends to the name.
      Resource: `arn:aws:secretsmanager:${ARN}:secret:payments/db-??????`,
    },
    {
      Effect: 'Allow',
      Action: [
        'cloudformation:CreateChangeSet',
        'cloudformation:DescribeChangeSet',
        'cloudformation:ExecuteChangeSet',
        'cloudformation:DescribeStacks',
      ],
      Resource: `arn:aws:cloudformation:${ARN}:stack/payments-*/*`,
    },
    {
      Effect: 'Allow',
      Action: 'cloudformation:CreateChangeSet',
      Resource: `arn:aws:cloudformation:${ARN}:stack/roled-*/*`,
      Condition: { StringEquals: { 'cloudformation:RoleArn': CFN_ROLE } },
    },
    { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::payments-site' },
    {
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:DeleteObject'],
      Resource: 'arn:aws:s3:::payments-site/*',
    },
  ],
};

let moto: Moto;
let admin: Record<string, string>;
let job: Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), 'gao-moto-scoped-'));
removeOnExit(dir);

async function ok(env: Record<string, string>, args: string[]): Promise<string> {
  const r = await awsCli(args, env);
  if (r.code !== 0) throw new Error(`aws ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function expectDenied(r: CommandResult, action: string) {
  expect(r.code, r.stdout).not.toBe(0);
  expect(r.stderr).toContain('AccessDenied');
  expect(r.stderr).toContain(action);
}

beforeAll(async () => {
  moto = await startMoto({ enforceResources: true });
  const key = await createMotoAdmin(moto.url);
  await moto.enforceIam();
  admin = awsCliEnv(moto.url, { region: REGION, credentials: key });
  for (const repo of ['payments/api', 'other/app'])
    await ok(admin, ['ecr', 'create-repository', '--repository-name', repo]);
  await ok(admin, ['ecs', 'create-cluster', '--cluster-name', 'prod']);
  await ok(admin, [
    'ecs',
    'register-task-definition',
    '--family',
    'api',
    '--container-definitions',
    JSON.stringify([{ name: 'api', image: 'nginx:1', memory: 128 }]),
  ]);
  for (const service of ['api', 'other'])
    await ok(admin, [
      'ecs',
      'create-service',
      '--cluster',
      'prod',
      '--service-name',
      service,
      '--task-definition',
      'api',
      '--desired-count',
      '1',
    ]);
  for (const name of ['payments/db', 'payments/db-admin', 'other/db'])
    await ok(admin, ['secretsmanager', 'create-secret', '--name', name, '--secret-string', `${name}-value`]);
  for (const bucket of ['payments-site', 'other-site']) await ok(admin, ['s3', 'mb', `s3://${bucket}`]);
  await ok(admin, [
    'iam',
    'create-role',
    '--role-name',
    ROLE,
    '--assume-role-policy-document',
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Federated: '*' }, Action: 'sts:AssumeRoleWithWebIdentity' },
      ],
    }),
  ]);
  await ok(admin, [
    'iam',
    'put-role-policy',
    '--role-name',
    ROLE,
    '--policy-name',
    'scoped',
    '--policy-document',
    JSON.stringify(policy),
  ]);
  // moto does not verify the token; the GitLab fake's tokens are tested elsewhere.
  const token = join(dir, 'token');
  writeFileSync(token, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJqb2IifQ.');
  job = {
    ...awsCliEnv(moto.url, { region: REGION }),
    AWS_ROLE_ARN: `arn:aws:iam::123456789012:role/${ROLE}`,
    AWS_WEB_IDENTITY_TOKEN_FILE: token,
    AWS_ROLE_SESSION_NAME: 'job',
  };
}, 120_000);
afterAll(async () => {
  await moto?.stop();
});

describe('moto with resource-level authorisation (startMoto({ enforceResources: true }))', () => {
  it('lets the unsigned AssumeRoleWithWebIdentity through and enforces IAM on what follows', async () => {
    expect(await ok(job, ['sts', 'get-caller-identity', '--query', 'Arn', '--output', 'text'])).toBe(
      `arn:aws:sts::123456789012:assumed-role/${ROLE}/job`,
    );
    expectDenied(await awsCli(['iam', 'list-users'], job), 'iam:ListUsers');
  });

  it('ECR: the repository ARN (GetAuthorizationToken on "*")', async () => {
    expect(await ok(job, ['ecr', 'get-login-password'])).not.toBe('');
    await ok(job, ['ecr', 'initiate-layer-upload', '--repository-name', 'payments/api']);
    expectDenied(
      await awsCli(['ecr', 'initiate-layer-upload', '--repository-name', 'other/app'], job),
      'ecr:InitiateLayerUpload',
    );
    expectDenied(
      await awsCli(['ecr', 'describe-repositories', '--repository-names', 'payments/api', 'other/app'], job),
      'ecr:DescribeRepositories',
    );
  });

  it('ECS: the service ARN on its cluster (task definitions on "*")', async () => {
    await ok(job, ['ecs', 'describe-task-definition', '--task-definition', 'api']);
    await ok(job, ['ecs', 'describe-services', '--cluster', 'prod', '--services', 'api']);
    await ok(job, [
      'ecs',
      'update-service',
      '--cluster',
      'prod',
      '--service',
      'api',
      '--task-definition',
      'api:1',
    ]);
    const clusterArn = `arn:aws:ecs:${ARN}:cluster/prod`;
    await ok(job, ['ecs', 'describe-services', '--cluster', clusterArn, '--services', 'api']);
    expectDenied(
      await awsCli(['ecs', 'update-service', '--cluster', 'prod', '--service', 'other'], job),
      'ecs:UpdateService',
    );
    expectDenied(
      await awsCli(['ecs', 'describe-services', '--cluster', 'prod', '--services', 'api', 'other'], job),
      'ecs:DescribeServices',
    );
  });

  it('Secrets Manager: the secret full ARN, by name or ARN, with IAM\'s ? wildcard; "*" for none', async () => {
    const read = (id: string) =>
      awsCli(['secretsmanager', 'get-secret-value', '--secret-id', id, '--query', 'SecretString'], job);
    expect((await read('payments/db')).stdout).toContain('payments/db-value');
    const arn = await ok(admin, [
      'secretsmanager',
      'describe-secret',
      '--secret-id',
      'payments/db',
      '--query',
      'ARN',
      '--output',
      'text',
    ]);
    expect((await read(arn)).stdout).toContain('payments/db-value');
    expectDenied(await read('other/db'), 'secretsmanager:GetSecretValue');
    expectDenied(await read('payments/db-admin'), 'secretsmanager:GetSecretValue');
    expectDenied(await read('payments/missing'), 'secretsmanager:GetSecretValue');
  });

  it('CloudFormation: the stack ARN, stack/NAME/* for a stack not made yet', async () => {
    const template = join(dir, 'template.yaml');
    writeFileSync(template, 'Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n');
    const deploy = (stack: string) =>
      awsCli(['cloudformation', 'deploy', '--stack-name', stack, '--template-file', template], job);
    const made = await deploy('payments-web');
    expect(made.code, made.stderr).toBe(0);
    expect(
      await ok(job, [
        'cloudformation',
        'describe-stacks',
        '--stack-name',
        'payments-web',
        '--query',
        'Stacks[0].StackStatus',
        '--output',
        'text',
      ]),
    ).toBe('CREATE_COMPLETE');
    expectDenied(await deploy('other-web'), 'cloudformation:DescribeStacks');
  });

  it('CloudFormation: a condition on cloudformation:RoleArn allows the change set naming the role, and no other', async () => {
    const template = join(dir, 'template.yaml');
    const changeSet = (stack: string, ...role: string[]) =>
      awsCli(
        [
          'cloudformation',
          'create-change-set',
          '--stack-name',
          stack,
          '--change-set-name',
          'one',
          '--change-set-type',
          'CREATE',
          '--template-body',
          `file://${template}`,
          ...role,
        ],
        job,
      );
    const named = await changeSet('roled-a', '--role-arn', CFN_ROLE);
    expect(named.code, named.stderr).toBe(0);
    expectDenied(await changeSet('roled-b'), 'cloudformation:CreateChangeSet');
    expectDenied(
      await changeSet('roled-c', '--role-arn', 'arn:aws:iam::123456789012:role/admin'),
      'cloudformation:CreateChangeSet',
    );
  });

  it('S3 (moto itself): ListBucket on the bucket, PutObject and DeleteObject on its objects', async () => {
    const site = mkdtempSync(join(dir, 'site-'));
    writeFileSync(join(site, 'index.html'), '<h1>hi</h1>\n');
    await ok(job, ['s3', 'sync', site, 's3://payments-site', '--delete']);
    expect(await ok(job, ['s3', 'ls', 's3://payments-site'])).toContain('index.html');
    await ok(job, ['s3', 'rm', 's3://payments-site/index.html']);
    expectDenied(await awsCli(['s3', 'sync', site, 's3://other-site'], job), 'ListObjectsV2');
    expectDenied(await awsCli(['s3', 'cp', join(site, 'index.html'), 's3://other-site/x'], job), 'PutObject');
  });
});
