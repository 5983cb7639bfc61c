// Grant presets (spec.role.grants, spec.iamUser.grants; DESIGN.md 2.2): the
// least-privilege policies of the usual CI/CD jobs, each scoped to the
// resources it names. The documents are src/policy/grants.ts's; the actions
// and their sources are in docs/grants.md.
import { type Static, Type } from '@sinclair/typebox';
import { cel, PATTERNS } from './common.ts';

export const GRANT_PRESETS = [
  'ecrPush',
  'ecsDeploy',
  'secretsRead',
  'cloudFormationDeploy',
  's3Deploy',
] as const;
export type GrantPreset = (typeof GRANT_PRESETS)[number];

// A trailing * may widen a name to a prefix, never a bare * (that is every
// resource of the service, which a preset exists to avoid).
const GRANT_PATTERNS = {
  /** ECR repository names (lowercase, / separated), a trailing * for a prefix. */
  repository: '^[a-z0-9]+([._/-][a-z0-9]+)*([._/-]?\\*)?$',
  /** ECS cluster and service names: letters, digits, - and _. */
  ecsName: '^[A-Za-z0-9_-]+$',
  ecsService: '^[A-Za-z0-9_-]+\\*?$',
  /** CloudFormation stack names start with a letter; a trailing * for a prefix. */
  stackName: '^[A-Za-z][A-Za-z0-9-]*\\*?$',
  /** A Secrets Manager secret ARN in one region and account; * and ? only after a literal start of the name. */
  secretArn:
    '^arn:aws(-[a-z]+)*:secretsmanager:[a-z]{2}(-[a-z]+)+-[0-9]{1,2}:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+[A-Za-z0-9/_+=.@*?-]*$',
  /** S3 bucket names, exactly (no globs). */
  bucket: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
  cdkQualifier: '^[A-Za-z0-9_-]{1,10}$',
} as const;

const names = (item: ReturnType<typeof Type.String>, description: string) =>
  Type.Array(item, { description, minItems: 1, maxItems: 20, 'x-kubernetes-list-type': 'set' });

const roleArn = (description: string) =>
  Type.String({ description, maxLength: 2048, pattern: PATTERNS.roleArn });

export const EcrPushSchema = Type.Object(
  {
    repositories: names(
      Type.String({
        description:
          'An ECR repository name, e.g. payments/api; a trailing * for every repository with that prefix.',
        maxLength: 256,
        pattern: GRANT_PATTERNS.repository,
      }),
      "Repositories the job may push to, in the federation's region and the role's account.",
    ),
  },
  { description: 'Log in to ECR and push images to the named repositories.' },
);

export const EcsDeploySchema = Type.Object(
  {
    cluster: Type.String({
      description: 'Name of the ECS cluster.',
      minLength: 1,
      maxLength: 255,
      pattern: GRANT_PATTERNS.ecsName,
    }),
    services: names(
      Type.String({
        description: 'An ECS service name; a trailing * for every service with that prefix.',
        maxLength: 255,
        pattern: GRANT_PATTERNS.ecsService,
      }),
      'Services of the cluster the job may update.',
    ),
    taskRoleArns: Type.Optional(
      Type.Array(roleArn('ARN of a task role or task execution role.'), {
        description:
          'Roles the new task definitions may name (task role and execution role): the job may pass them to ECS tasks (iam:PassRole). A GitLabAwsPolicy must allow each (spec.role.passRoleArns).',
        maxItems: 10,
        'x-kubernetes-list-type': 'set',
      }),
    ),
  },
  { description: 'Register a new task definition revision and roll the named services onto it.' },
);

export const SecretsReadSchema = Type.Object(
  {
    secretArns: names(
      Type.String({
        description:
          'A Secrets Manager secret ARN. Secret ARNs end in - and six random characters: write name-?????? or name-*.',
        maxLength: 2048,
        pattern: GRANT_PATTERNS.secretArn,
      }),
      'Secrets the job may read.',
    ),
  },
  { description: 'Read the values of the named Secrets Manager secrets.' },
);

export const CloudFormationDeploySchema = Type.Object(
  {
    stackNames: names(
      Type.String({
        description: 'A stack name; a trailing * for every stack with that prefix.',
        maxLength: 128,
        pattern: GRANT_PATTERNS.stackName,
      }),
      "Stacks the job may create and update (aws cloudformation deploy), in the federation's region.",
    ),
    roleArn: Type.Optional(
      roleArn(
        'The CloudFormation service role the job passes with --role-arn, which then creates the stack resources; the job may pass only this role (iam:PassRole). A GitLabAwsPolicy must allow it (spec.role.passRoleArns).',
      ),
    ),
    cdk: Type.Optional(
      Type.Boolean({
        description:
          "Let the job assume the CDK bootstrap roles of the federation's account and region (cdk deploy). They can do whatever the bootstrap's execution policies allow, whatever stackNames says.",
      }),
    ),
    cdkQualifier: Type.Optional(
      Type.String({
        description: 'Qualifier of the CDK bootstrap stack. Default hnb659fds.',
        pattern: GRANT_PATTERNS.cdkQualifier,
      }),
    ),
  },
  {
    description:
      'Deploy the named CloudFormation stacks through change sets; with cdk, through the CDK bootstrap roles.',
    ...cel({
      rule: '!has(self.cdkQualifier) || (has(self.cdk) && self.cdk)',
      message: 'cdkQualifier needs cdk: true',
    }),
  },
);

export const S3DeploySchema = Type.Object(
  {
    buckets: names(
      Type.String({
        description: 'An S3 bucket name.',
        minLength: 3,
        maxLength: 63,
        pattern: GRANT_PATTERNS.bucket,
      }),
      'Buckets the job may sync files to (list, put and delete objects).',
    ),
  },
  { description: 'Upload files to the named S3 buckets and delete what is gone (aws s3 sync --delete).' },
);

const presetFields = {
  ecrPush: Type.Optional(EcrPushSchema),
  ecsDeploy: Type.Optional(EcsDeploySchema),
  secretsRead: Type.Optional(SecretsReadSchema),
  cloudFormationDeploy: Type.Optional(CloudFormationDeploySchema),
  s3Deploy: Type.Optional(S3DeploySchema),
};

const has = (g: string) => GRANT_PRESETS.map((p) => `has(${g}.${p})`);

export const GrantSchema = Type.Object(presetFields, {
  description: 'One grant preset: exactly one of its fields.',
  ...cel({
    rule: `[${has('self').join(', ')}].filter(x, x).size() == 1`,
    message: `each grant must set exactly one preset: ${GRANT_PRESETS.join(', ')}`,
  }),
});

export function grantsField(kind: 'role' | 'user') {
  return Type.Optional(
    Type.Array(GrantSchema, {
      description: `Grant presets: least-privilege inline policies of the ${kind} (named gitlab-aws-grant-<preset>) for the usual CI/CD jobs, scoped to the resources they name. See docs/grants.md.`,
      maxItems: GRANT_PRESETS.length,
      ...cel({
        rule: GRANT_PRESETS.map((p) => `self.filter(g, has(g.${p})).size() <= 1`).join(' && '),
        message: 'each preset may appear once',
      }),
    }),
  );
}

/** Prefix of the inline policies the presets make; spec.*.inlinePolicies may not use it. */
export const GRANT_POLICY_PREFIX = 'gitlab-aws-grant-';

export type Grant = Static<typeof GrantSchema>;
export type EcrPush = Static<typeof EcrPushSchema>;
export type EcsDeploy = Static<typeof EcsDeploySchema>;
export type SecretsRead = Static<typeof SecretsReadSchema>;
export type CloudFormationDeploy = Static<typeof CloudFormationDeploySchema>;
export type S3Deploy = Static<typeof S3DeploySchema>;
