// The documents of the grant presets (DESIGN.md 2.2): one inline policy per
// preset, with the fewest actions its job needs and every Resource that AWS
// lets one scope named exactly (docs/grants.md gives each list's source).
// Pure; table-tested in test/unit/grants.test.ts.
import {
  type CloudFormationDeploy,
  type EcrPush,
  type EcsDeploy,
  GRANT_POLICY_PREFIX,
  GRANT_PRESETS,
  type Grant,
  type GrantPreset,
  type S3Deploy,
  type SecretsRead,
} from '../api/v1alpha1/grants.ts';
import type { PolicyDocument, PolicyStatement } from './iam-document.ts';

/** Where the named resources live: the principal's partition and account, the federation's region. */
export interface GrantScope {
  partition: string;
  account: string;
  region: string;
}

export const DEFAULT_CDK_QUALIFIER = 'hnb659fds';
const CDK_ROLES = ['deploy', 'file-publishing', 'image-publishing', 'lookup'] as const;

const allow = (
  Sid: string,
  Action: string | string[],
  Resource: string | string[],
  extra: Partial<PolicyStatement> = {},
): PolicyStatement => ({
  Sid,
  Effect: 'Allow',
  Action,
  Resource,
  ...extra,
});

const passRole = (Sid: string, roles: string[], service: string): PolicyStatement =>
  allow(Sid, 'iam:PassRole', roles, { Condition: { StringEquals: { 'iam:PassedToService': service } } });

const arn = (s: GrantScope, service: string, resource: string, region = s.region) =>
  `arn:${s.partition}:${service}:${region}:${s.account}:${resource}`;

function ecrPush(g: EcrPush, s: GrantScope): PolicyStatement[] {
  return [
    // GetAuthorizationToken has no resource type: it is "*" or nothing.
    allow('EcrLogin', 'ecr:GetAuthorizationToken', '*'),
    allow(
      'EcrPush',
      [
        'ecr:BatchCheckLayerAvailability',
        'ecr:BatchGetImage',
        'ecr:CompleteLayerUpload',
        'ecr:InitiateLayerUpload',
        'ecr:PutImage',
        'ecr:UploadLayerPart',
      ],
      g.repositories.map((r) => arn(s, 'ecr', `repository/${r}`)),
    ),
  ];
}

function ecsDeploy(g: EcsDeploy, s: GrantScope): PolicyStatement[] {
  const out = [
    // Task definitions have no resource-level permissions for these two.
    allow('EcsTaskDefinitions', ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'], '*'),
    allow(
      'EcsServices',
      ['ecs:DescribeServices', 'ecs:UpdateService'],
      g.services.map((svc) => arn(s, 'ecs', `service/${g.cluster}/${svc}`)),
    ),
  ];
  if (g.taskRoleArns?.length) out.push(passRole('EcsPassRoles', g.taskRoleArns, 'ecs-tasks.amazonaws.com'));
  return out;
}

function secretsRead(g: SecretsRead): PolicyStatement[] {
  return [allow('SecretsRead', 'secretsmanager:GetSecretValue', g.secretArns)];
}

function cloudFormationDeploy(g: CloudFormationDeploy, s: GrantScope): PolicyStatement[] {
  // A stack's ARN ends in its unique ID. What `aws cloudformation deploy` calls.
  const stacks = g.stackNames.map((name) => arn(s, 'cloudformation', `stack/${name}/*`));
  const actions = [
    'cloudformation:DescribeChangeSet',
    'cloudformation:DescribeStacks',
    'cloudformation:ExecuteChangeSet',
    'cloudformation:GetTemplateSummary',
  ];
  const out: PolicyStatement[] = [];
  if (g.roleArn) {
    // With a service role, every change set must name it: the stack's
    // resources are then made with the role's permissions, not the job's.
    out.push(
      allow('CloudFormationStacks', actions, stacks),
      allow('CloudFormationChangeSets', 'cloudformation:CreateChangeSet', stacks, {
        Condition: { StringEquals: { 'cloudformation:RoleArn': g.roleArn } },
      }),
      passRole('CloudFormationPassRole', [g.roleArn], 'cloudformation.amazonaws.com'),
    );
  } else {
    out.push(allow('CloudFormationStacks', ['cloudformation:CreateChangeSet', ...actions], stacks));
  }
  if (g.cdk) {
    const q = g.cdkQualifier ?? DEFAULT_CDK_QUALIFIER;
    out.push(
      allow(
        'CdkBootstrapRoles',
        'sts:AssumeRole',
        CDK_ROLES.map(
          (r) => `arn:${s.partition}:iam::${s.account}:role/cdk-${q}-${r}-role-${s.account}-${s.region}`,
        ),
      ),
    );
  }
  return out;
}

function s3Deploy(g: S3Deploy, s: GrantScope): PolicyStatement[] {
  return [
    allow(
      'S3List',
      's3:ListBucket',
      g.buckets.map((b) => `arn:${s.partition}:s3:::${b}`),
    ),
    allow(
      'S3Objects',
      ['s3:DeleteObject', 's3:PutObject'],
      g.buckets.map((b) => `arn:${s.partition}:s3:::${b}/*`),
    ),
  ];
}

export function presetOf(grant: Grant): GrantPreset | undefined {
  return GRANT_PRESETS.find((p) => grant[p] !== undefined);
}

export function grantPolicyName(preset: GrantPreset): string {
  return `${GRANT_POLICY_PREFIX}${preset}`;
}

function statements(grant: Grant, s: GrantScope): PolicyStatement[] {
  if (grant.ecrPush) return ecrPush(grant.ecrPush, s);
  if (grant.ecsDeploy) return ecsDeploy(grant.ecsDeploy, s);
  if (grant.secretsRead) return secretsRead(grant.secretsRead);
  if (grant.cloudFormationDeploy) return cloudFormationDeploy(grant.cloudFormationDeploy, s);
  if (grant.s3Deploy) return s3Deploy(grant.s3Deploy, s);
  return [];
}

/** The inline policies of the grants, by name (gitlab-aws-grant-<preset>). */
export function grantPolicies(
  grants: Grant[] | undefined,
  scope: GrantScope,
): Record<string, PolicyDocument> {
  const out: Record<string, PolicyDocument> = {};
  for (const grant of grants ?? []) {
    const preset = presetOf(grant);
    if (preset) out[grantPolicyName(preset)] = { Version: '2012-10-17', Statement: statements(grant, scope) };
  }
  return out;
}

/** The roles the grants let the job pass to a service (tenancy limits them). */
export function passedRoles(grants: Grant[] | undefined): { field: string; arn: string }[] {
  const out: { field: string; arn: string }[] = [];
  (grants ?? []).forEach((g, i) => {
    g.ecsDeploy?.taskRoleArns?.forEach((arn, j) => {
      out.push({ field: `grants[${i}].ecsDeploy.taskRoleArns[${j}]`, arn });
    });
    if (g.cloudFormationDeploy?.roleArn) {
      out.push({ field: `grants[${i}].cloudFormationDeploy.roleArn`, arn: g.cloudFormationDeploy.roleArn });
    }
  });
  return out;
}

/** Whether a grant names resources of a region (secrets are full ARNs, buckets global). */
export function needsRegion(grants: Grant[] | undefined): boolean {
  return (grants ?? []).some((g) => g.ecrPush || g.ecsDeploy || g.cloudFormationDeploy);
}

/** Partition and account of an IAM ARN (arn:aws:iam::123456789012:role/x). */
export function scopeOf(principalArn: string, region: string): GrantScope {
  const [, partition = 'aws', , , account = ''] = principalArn.split(':');
  return { partition, account, region };
}
