// GitLabAwsFederation: keyless CI/CD access to AWS through GitLab's OIDC ID
// tokens, or rotated IAM user keys where AWS cannot reach GitLab (DESIGN.md 2.2).
import { type Static, Type } from '@sinclair/typebox';
import {
  AwsSchema,
  ConditionsSchema,
  cel,
  DeletionPolicySchema,
  GitLabSchema,
  JsonObject,
  MapOf,
  ObservedGenerationSchema,
  PATTERNS,
  StringEnum,
  Tags,
} from './common.ts';
import { GRANT_POLICY_PREFIX, grantsField } from './grants.ts';

const EXACTLY_ONE_OF_PROJECT_OR_GROUP = {
  rule: 'has(self.project) != has(self.group)',
  message: 'exactly one of project or group must be set',
};

const projectPath = (what: string) =>
  Type.Optional(
    Type.String({
      description: `Full path of a GitLab project with its namespace, e.g. payments/api. ${what}`,
      minLength: 1,
      maxLength: 255,
      pattern: PATTERNS.gitlabProjectPath,
    }),
  );
const groupPath = (what: string) =>
  Type.Optional(
    Type.String({
      description: `Full path of a GitLab group, e.g. payments. ${what}`,
      minLength: 1,
      maxLength: 255,
      pattern: PATTERNS.gitlabPath,
    }),
  );

const policyArn = (description: string) =>
  Type.String({ description, maxLength: 2048, pattern: PATTERNS.policyArn });

/** Policy fields shared by the role (OIDC) and the IAM user (IAMUserAccessKeys). */
function principalFields(kind: 'role' | 'user') {
  return {
    path: Type.Optional(
      Type.String({
        description: `IAM path of the ${kind}: / or /segments/ (e.g. /gitlab/). Default: the pathPrefix of the GitLabAwsPolicy that selects the namespace, else /.`,
        maxLength: 512,
        pattern: PATTERNS.iamPath,
      }),
    ),
    permissionsBoundaryArn: Type.Optional(
      policyArn(`ARN of the managed policy set as the ${kind}'s permissions boundary.`),
    ),
    managedPolicyArns: Type.Optional(
      Type.Array(policyArn('ARN of a managed policy.'), {
        description: `Managed policies attached to the ${kind}; any other attached policy is detached.`,
        maxItems: 20,
        'x-kubernetes-list-type': 'set',
      }),
    ),
    inlinePolicies: Type.Optional(
      MapOf(
        JsonObject({
          description: 'An IAM policy document, e.g. {Version: "2012-10-17", Statement: [...]}.',
        }),
        {
          description: `Inline policies of the ${kind}, by name; any other inline policy is removed. Documents are compared by meaning, not text.`,
          maxProperties: 20,
          ...cel(
            {
              rule: "self.all(k, k.matches('^[A-Za-z0-9_+=,.@-]{1,128}$'))",
              message: 'inline policy names must be 1-128 characters of letters, digits and _+=,.@-',
            },
            {
              rule: `self.all(k, !k.startsWith('${GRANT_POLICY_PREFIX}'))`,
              message: `inline policy names starting with ${GRANT_POLICY_PREFIX} are the grant presets' own: use another name, or spec.${kind === 'role' ? 'role' : 'iamUser'}.grants`,
            },
          ),
        },
      ),
    ),
    grants: grantsField(kind),
    tags: Type.Optional(Tags(`Tags on the ${kind}.`)),
  };
}

export const RoleSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        description: 'Name of the IAM role. Default: <namespace>-<name>, trimmed to 64 characters.',
        minLength: 1,
        maxLength: 64,
        pattern: PATTERNS.iamName,
      }),
    ),
    description: Type.Optional(Type.String({ description: 'Description of the IAM role.', maxLength: 1000 })),
    maxSessionDuration: Type.Optional(
      Type.Integer({
        description:
          'Longest session, in seconds, that a job can request when it assumes the role (3600..43200).',
        default: 3600,
        minimum: 3600,
        maximum: 43200,
      }),
    ),
    ...principalFields('role'),
  },
  {
    description:
      'The IAM role that GitLab jobs assume with their ID token. It belongs to this federation: its policies, boundary, session duration, description and tags converge to this spec.',
  },
);

export const IamUserSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        description: 'Name of the IAM user. Default: <namespace>-<name>, trimmed to 64 characters.',
        minLength: 1,
        maxLength: 64,
        pattern: PATTERNS.iamName,
      }),
    ),
    ...principalFields('user'),
  },
  {
    description:
      'The IAM user whose access key is written to masked CI/CD variables (method IAMUserAccessKeys only). Its policies converge to this spec.',
  },
);

export const AccessEntrySchema = Type.Object(
  {
    project: projectPath('Only this project may assume the role.'),
    group: groupPath('Every project below this group, subgroups included, may assume the role.'),
    refType: Type.Optional(
      StringEnum(['branch', 'tag', 'any'], {
        description: 'Kind of Git ref the job must run for: branch, tag, or any.',
        default: 'branch',
      }),
    ),
    refs: Type.Array(
      Type.String({
        description: 'A branch or tag name, exact or with * and ? globs.',
        minLength: 1,
        maxLength: 255,
        // Git's forbidden ref characters (control characters included) plus $ (IAM policy variables) and ".
        pattern: '^[^\\s\\x00-\\x1f\\x7f~^:\\[\\\\$"]+$',
      }),
      {
        description:
          'Refs the job must run for: exact names or * ? globs, e.g. [main, "release/*"]. At least one; the only place where globs are allowed.',
        minItems: 1,
        maxItems: 20,
      },
    ),
  },
  {
    description:
      'Exactly one of project or group, the ref type and the refs; each ref becomes one sub pattern in the trust policy.',
    ...cel(EXACTLY_ONE_OF_PROJECT_OR_GROUP),
  },
);

export const CiVariablesSchema = Type.Object(
  {
    target: Type.Object(
      {
        project: projectPath('The variables are written to this project.'),
        group: groupPath('The variables are written to this group.'),
      },
      {
        description: 'The project or group that receives the variables: exactly one of project or group.',
        ...cel(EXACTLY_ONE_OF_PROJECT_OR_GROUP),
      },
    ),
    environmentScope: Type.Optional(
      Type.String({
        description: 'GitLab environment scope of the variables; * for all environments.',
        default: '*',
        minLength: 1,
        maxLength: 255,
        pattern: '^[A-Za-z0-9 _/{}$.*-]+$',
      }),
    ),
    protected: Type.Optional(
      Type.Boolean({
        description: 'Expose the variables only to pipelines on protected refs.',
        default: false,
      }),
    ),
    roleArnVariable: Type.Optional(
      Type.String({
        description: 'Name of the variable that receives the role ARN (method OIDC).',
        default: 'ROLE_ARN',
        minLength: 1,
        maxLength: 255,
        pattern: PATTERNS.ciVariableName,
      }),
    ),
    regionVariable: Type.Optional(
      Type.String({
        description:
          'Name of the variable that receives the AWS region; the empty string means none is written.',
        default: 'AWS_DEFAULT_REGION',
        maxLength: 255,
        pattern: '^[A-Za-z0-9_]*$',
      }),
    ),
  },
  {
    description:
      'Where the operator publishes what jobs need as GitLab CI/CD variables. Variables are identified by key and environment scope, and carry an owner marker in their description.',
    ...cel({
      rule: 'self.roleArnVariable != self.regionVariable',
      message: 'roleArnVariable and regionVariable must name different variables',
    }),
  },
);

export const LegacyCredentialsSchema = Type.Object(
  {
    audit: Type.Optional(
      Type.Boolean({
        description:
          'Report AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN variables of the target that the operator did not write (key and scope only, never values).',
        default: true,
      }),
    ),
    removeWhenReady: Type.Optional(
      Type.Boolean({
        description:
          'Delete the leftover long-lived key variables that the audit found once the federation is Ready.',
        default: false,
      }),
    ),
  },
  {
    description:
      'Audit (and optionally removal) of long-lived AWS keys left in the CI/CD variables of the target.',
    // Spelled out: the API server checks a default against the rules without
    // applying the nested defaults first.
    default: { audit: true, removeWhenReady: false },
    ...cel({
      rule: '!self.removeWhenReady || self.audit',
      message: 'removeWhenReady needs audit: true, because only the keys the audit finds are removed',
    }),
  },
);

export const RotationSchema = Type.Object(
  {
    interval: Type.Optional(
      Type.String({
        description:
          'How often the access key is replaced, e.g. 30d, 720h, 12h30m; at least 1m. The annotation gitlab-aws.io/rotate-now replaces it at once.',
        default: '30d',
        maxLength: 32,
        pattern: PATTERNS.duration,
      }),
    ),
    gracePeriod: Type.Optional(
      Type.String({
        description:
          'How long a replaced key stays usable after the new one is in GitLab, so that jobs that started with it can finish; then it is deactivated and deleted. Default 1h. gitlab-aws.io/rotate-now deletes the old key at once.',
        default: '1h',
        maxLength: 32,
        pattern: PATTERNS.duration,
      }),
    ),
  },
  { description: 'Rotation of the IAM user access key (method IAMUserAccessKeys only).' },
);

export const GitLabAwsFederationSpecSchema = Type.Object(
  {
    gitlab: Type.Optional(GitLabSchema),
    aws: Type.Optional(AwsSchema),
    method: Type.Optional(
      StringEnum(['OIDC', 'IAMUserAccessKeys'], {
        description:
          'OIDC (keyless, the secure default): an IAM OIDC provider and a role that jobs assume with their ID token. IAMUserAccessKeys: for GitLab instances AWS cannot reach, an IAM user whose rotated key is written to masked variables.',
        default: 'OIDC',
      }),
    ),
    audience: Type.Optional(
      Type.String({
        description:
          'The aud that jobs request in their id_tokens. Default: the GitLab URL. Letters, digits, space and _.:/=+-@ (it is kept in an IAM tag).',
        minLength: 1,
        maxLength: 255,
        pattern: PATTERNS.audience,
      }),
    ),
    requireProtectedRefs: Type.Optional(
      Type.Boolean({
        description:
          'Trust only branches and tags that GitLab protects (so a Developer cannot push to them): refs of access entries with refType branch or tag that no protected branch or tag covers are left out of the trust policy, and the federation is not Ready until they are protected. Without it, condition RefsProtected only reports them. Needs gitlab.tokenSecretRef.',
        default: false,
      }),
    ),
    identityProvider: Type.Optional(
      Type.Object(
        {
          thumbprints: Type.Optional(
            Type.Array(
              Type.String({
                description: 'SHA-1 certificate thumbprint, 40 hex digits.',
                pattern: '^[0-9A-Fa-f]{40}$',
              }),
              {
                description:
                  'Thumbprints for the IAM OIDC provider. Omit them for publicly trusted certificates; with caSecretRef and none given, the operator computes one.',
                maxItems: 5,
              },
            ),
          ),
        },
        {
          description:
            'The IAM OIDC identity provider for the GitLab issuer, shared by all federations of that instance.',
        },
      ),
    ),
    role: Type.Optional(RoleSchema),
    iamUser: Type.Optional(IamUserSchema),
    access: Type.Optional(
      Type.Array(AccessEntrySchema, {
        description: 'Who may assume the role (method OIDC): at least one entry; entries are OR-ed.',
        minItems: 1,
        maxItems: 20,
      }),
    ),
    ciVariables: Type.Optional(CiVariablesSchema),
    legacyCredentials: Type.Optional(LegacyCredentialsSchema),
    rotation: Type.Optional(RotationSchema),
    deletionPolicy: Type.Optional(DeletionPolicySchema),
  },
  {
    description: 'Desired state of the federation between GitLab CI/CD and AWS.',
    ...cel(
      {
        rule: "self.method != 'OIDC' || has(self.access)",
        message:
          'access is required when method is OIDC: list who may assume the role (project or group, and refs)',
        fieldPath: '.access',
      },
      {
        rule: "self.method != 'OIDC' || (!has(self.iamUser) && !has(self.rotation))",
        message:
          'iamUser and rotation are only for method IAMUserAccessKeys: remove them, or set method: IAMUserAccessKeys',
      },
      {
        rule: "self.method != 'IAMUserAccessKeys' || has(self.iamUser)",
        message: 'iamUser is required when method is IAMUserAccessKeys (iamUser: {} uses the defaults)',
        fieldPath: '.iamUser',
      },
      {
        rule: "self.method != 'IAMUserAccessKeys' || !(has(self.role) || has(self.access) || has(self.identityProvider) || has(self.audience))",
        message:
          'role, access, identityProvider and audience are only for method OIDC: remove them when method is IAMUserAccessKeys',
      },
      {
        rule: "self.method != 'IAMUserAccessKeys' || has(self.ciVariables)",
        message:
          'ciVariables is required when method is IAMUserAccessKeys: it names the project or group that receives the key',
        fieldPath: '.ciVariables',
      },
      {
        rule: '!(has(self.requireProtectedRefs) && self.requireProtectedRefs) || (has(self.gitlab) && has(self.gitlab.tokenSecretRef))',
        message:
          'requireProtectedRefs needs gitlab.tokenSecretRef: the operator reads the protected branches and tags with this GitLab token',
        fieldPath: '.requireProtectedRefs',
      },
      {
        rule: '!has(self.ciVariables) || has(self.gitlab.tokenSecretRef)',
        message:
          'tokenSecretRef is required when ciVariables is set: the operator writes the variables with this GitLab token',
        fieldPath: '.gitlab.tokenSecretRef',
      },
    ),
  },
);

/** How the operator reaches something it made in another account. */
const REACHED_THROUGH = Type.Optional(
  Type.String({ description: 'The role the operator assumes to reach it.' }),
);

const VariableRefSchema = Type.Object(
  {
    target: Type.String({ description: 'The project or group, e.g. "project payments/api".' }),
    key: Type.String({ description: 'Variable name.' }),
    environmentScope: Type.String({ description: 'Environment scope of the variable.' }),
  },
  { description: 'A CI/CD variable, by target, key and environment scope (never its value).' },
);

export const GitLabAwsFederationStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGenerationSchema),
    issuer: Type.Optional(
      Type.String({ description: "The GitLab OIDC issuer, from the instance's discovery document." }),
    ),
    identityProviderArn: Type.Optional(
      Type.String({ description: 'ARN of the IAM OIDC identity provider.' }),
    ),
    thumbprints: Type.Optional(
      Type.Array(Type.String({ description: 'SHA-1 thumbprint.' }), {
        description: 'Thumbprints on the identity provider, including one the operator computed.',
      }),
    ),
    audience: Type.Optional(
      Type.String({ description: "The audience this federation added to the provider's client IDs." }),
    ),
    roleArn: Type.Optional(
      Type.String({ description: 'ARN of the IAM role that jobs assume (method OIDC).' }),
    ),
    managedThrough: Type.Optional(
      Type.String({
        description:
          'The role the operator assumed to manage roleArn and the provider (spec.aws.assumeRoleArn when they were made); absent when it used its own credentials.',
      }),
    ),
    projects: Type.Optional(
      Type.Array(
        Type.Object(
          {
            path: Type.String({ description: 'The path as GitLab spells it (path_with_namespace).' }),
            id: Type.Integer({ description: "GitLab's numeric ID of the project." }),
          },
          { description: 'A project named in access, by path and ID.' },
        ),
        {
          description:
            'The projects the trust policy names, with the ID GitLab gave each: a project deleted and re-created at the same path by someone else has another ID and is not trusted (reason ProjectReplaced).',
        },
      ),
    ),
    retiring: Type.Optional(
      Type.Object(
        {
          roles: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  arn: Type.String({ description: 'ARN of the role.' }),
                  managedThrough: REACHED_THROUGH,
                },
                { description: 'A role this federation made.' },
              ),
              {
                description:
                  'Roles this federation made under an earlier name, path or account; deleted once the current role is Ready.',
              },
            ),
          ),
          users: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  arn: Type.String({ description: 'ARN of the IAM user.' }),
                  managedThrough: REACHED_THROUGH,
                },
                { description: 'An IAM user this federation made.' },
              ),
              {
                description:
                  'IAM users this federation made under an earlier name, path, account or method; deleted with their keys (and their key variables) once the current state is Ready.',
              },
            ),
          ),
          audiences: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  providerArn: Type.String({ description: 'ARN of the OIDC provider.' }),
                  audience: Type.String({ description: 'The audience (client ID).' }),
                  managedThrough: REACHED_THROUGH,
                },
                { description: 'An audience this federation added to a provider.' },
              ),
              {
                description:
                  'Audiences this federation added under an earlier audience, GitLab URL or account; removed once no federation uses them.',
              },
            ),
          ),
        },
        {
          description:
            'What the federation made under an earlier spec and removes once the current state is Ready, so that nothing it made stays behind assumable.',
        },
      ),
    ),
    userArn: Type.Optional(Type.String({ description: 'ARN of the IAM user (method IAMUserAccessKeys).' })),
    subjects: Type.Optional(
      Type.Array(Type.String({ description: 'A sub pattern.' }), {
        description: 'The sub patterns in the trust policy, one per access entry and ref.',
      }),
    ),
    ciVariables: Type.Optional(
      Type.Array(VariableRefSchema, { description: 'The CI/CD variables the operator wrote.' }),
    ),
    legacyCredentials: Type.Optional(
      Type.Array(VariableRefSchema, {
        description: 'Long-lived AWS key variables found in the target that the operator did not write.',
      }),
    ),
    accessKey: Type.Optional(
      Type.Object(
        {
          id: Type.Optional(
            Type.String({ description: 'ID of the access key GitLab holds (never the secret).' }),
          ),
          createdAt: Type.Optional(
            Type.String({ description: 'When the key was created.', format: 'date-time' }),
          ),
          nextRotationAt: Type.Optional(
            Type.String({ description: 'When the key is due to be replaced.', format: 'date-time' }),
          ),
          rotation: Type.Optional(
            Type.Object(
              {
                startedAt: Type.String({ description: 'When it started.', format: 'date-time' }),
                reason: Type.String({
                  description: 'Why: FirstKey, Interval, RotateNow, NotInGitLab.',
                }),
                keysBefore: Type.Array(Type.String({ description: 'An access key ID.' }), {
                  description:
                    'The keys the user had when the rotation started: any other is the one this rotation made.',
                }),
                rotateNow: Type.Optional(
                  Type.String({ description: 'The gitlab-aws.io/rotate-now value it answers.' }),
                ),
              },
              {
                description:
                  'A rotation in progress, recorded before the new key is made, so that a restart finishes it.',
              },
            ),
          ),
          previous: Type.Optional(
            Type.Object(
              {
                id: Type.String({ description: 'ID of the replaced key.' }),
                deleteAt: Type.String({ description: 'When it is deleted.', format: 'date-time' }),
              },
              { description: 'The key replaced by the last rotation, deleted after the grace period.' },
            ),
          ),
          revoked: Type.Optional(
            Type.Object(
              {
                rotateNow: Type.String({ description: 'The gitlab-aws.io/rotate-now value.' }),
                at: Type.String({ description: 'When the old key was deleted.', format: 'date-time' }),
                id: Type.Optional(Type.String({ description: 'ID of the key deleted.' })),
              },
              { description: 'The last revocation asked for with gitlab-aws.io/rotate-now.' },
            ),
          ),
        },
        { description: 'The access key of the IAM user (method IAMUserAccessKeys).' },
      ),
    ),
    lastSyncedAt: Type.Optional(
      Type.String({
        description: 'When AWS and GitLab were last checked against the spec.',
        format: 'date-time',
      }),
    ),
    conditions: Type.Optional(ConditionsSchema),
  },
  { description: 'Observed state of the federation, written by the operator.' },
);

export type GitLabAwsFederationSpec = Static<typeof GitLabAwsFederationSpecSchema>;
export type GitLabAwsFederationStatus = Static<typeof GitLabAwsFederationStatusSchema>;
export type AccessEntry = Static<typeof AccessEntrySchema>;
export type RoleSpec = Static<typeof RoleSchema>;
export type IamUserSpec = Static<typeof IamUserSchema>;
export type CiVariablesSpec = Static<typeof CiVariablesSchema>;
