// GitLabAwsPolicy: what the resources of the namespaces it selects may ask
// for (DESIGN.md 2.5). Cluster-scoped, written by the platform team. What a
// field allows is decided in one place, src/policy/tenancy.ts; the chart's
// ValidatingAdmissionPolicy says the same in CEL.
import { type Static, Type } from '@sinclair/typebox';
import { cel, PATTERNS, StringEnum } from './common.ts';
import { GRANT_PRESETS } from './grants.ts';

const strings = (item: ReturnType<typeof Type.String>, description: string, maxItems = 100) =>
  Type.Array(item, { description, minItems: 1, maxItems, 'x-kubernetes-list-type': 'set' });

const LabelSelectorRequirementSchema = Type.Object(
  {
    key: Type.String({ description: 'The label key the selector applies to.', minLength: 1, maxLength: 317 }),
    operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist'], {
      description: "The key's relationship to the values: In, NotIn, Exists or DoesNotExist.",
    }),
    values: Type.Optional(
      Type.Array(Type.String({ description: 'A label value.', maxLength: 63 }), {
        description: 'Values for In and NotIn (non-empty); empty for Exists and DoesNotExist.',
        maxItems: 100,
      }),
    ),
  },
  {
    description: 'A label selector requirement, as in Kubernetes LabelSelector.',
    ...cel({
      rule: "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
      message: 'In and NotIn need values; Exists and DoesNotExist take none',
    }),
  },
);

export const NamespaceSelectorSchema = Type.Object(
  {
    matchLabels: Type.Optional(
      Type.Unsafe<Record<string, string>>({
        type: 'object',
        additionalProperties: { type: 'string', description: 'Label value.', maxLength: 63 },
        description: 'Labels the namespace must have, with these values.',
      }),
    ),
    matchExpressions: Type.Optional(
      Type.Array(LabelSelectorRequirementSchema, {
        description: 'Requirements on the labels of the namespace; all must hold.',
        maxItems: 20,
      }),
    ),
  },
  {
    description:
      'Which namespaces this policy applies to: a Kubernetes LabelSelector on the namespace. {} selects every namespace. A namespace always has the label kubernetes.io/metadata.name with its name.',
  },
);

const globDescription = 'Exact ARNs, or globs where * matches any characters and ? one character.';

export const GitLabAwsPolicySpecSchema = Type.Object(
  {
    namespaceSelector: NamespaceSelectorSchema,
    gitlab: Type.Object(
      {
        urls: strings(
          Type.String({ description: 'A GitLab base URL.', maxLength: 255, pattern: PATTERNS.gitlabUrl }),
          'GitLab instances the namespaces may name in spec.gitlab.url, exactly as written there (https, no trailing slash). Only a URL listed here may resolve to a loopback or private address.',
          20,
        ),
        paths: strings(
          Type.String({
            description: 'A group or project path, or * for all.',
            maxLength: 255,
            pattern: `(${PATTERNS.gitlabPath})|^[*]$`,
          }),
          'Groups and projects (each with everything below it) that access entries and ciVariables.target may name, e.g. [payments, shared/ci-tools]; compared without regard to case, as GitLab does. "*" allows every path of the listed instances.',
        ),
      },
      { description: 'The GitLab side: which instances, and which groups and projects in them.' },
    ),
    aws: Type.Optional(
      Type.Object(
        {
          assumeRoleArns: Type.Optional(
            strings(
              Type.String({ description: 'A role ARN.', maxLength: 2048, pattern: PATTERNS.roleArn }),
              'Roles the namespaces may name in spec.aws.assumeRoleArn. Absent: they may not name one (the operator acts with its own credentials).',
              20,
            ),
          ),
          regions: Type.Optional(
            strings(
              Type.String({ description: 'An AWS region.', maxLength: 32, pattern: PATTERNS.awsRegion }),
              "Regions the namespaces may use (spec.aws.region, or the operator's default region when it is omitted). Absent: any.",
              40,
            ),
          ),
        },
        { description: 'The AWS side: which accounts (through an assumed role) and regions.' },
      ),
    ),
    role: Type.Optional(
      Type.Object(
        {
          pathPrefix: Type.Optional(
            Type.String({
              description:
                'spec.role.path (and spec.iamUser.path) must start with it; a spec that omits the path gets this one. Absent: any path.',
              maxLength: 512,
              pattern: PATTERNS.iamPath,
            }),
          ),
          namePrefix: Type.Optional(
            Type.String({
              description:
                'The role (and user) name, given or defaulted (<namespace>-<name>), must start with it. Absent: any name.',
              minLength: 1,
              maxLength: 32,
              pattern: PATTERNS.iamName,
            }),
          ),
          permissionsBoundaryArn: Type.Optional(
            Type.String({
              description:
                'The permissions boundary every role and user must carry: applied when the spec omits it, refused when the spec names another. Absent: the spec may set any boundary or none.',
              maxLength: 2048,
              pattern: PATTERNS.policyArn,
            }),
          ),
          managedPolicyArns: Type.Optional(
            strings(
              Type.String({
                description: 'A managed policy ARN or glob.',
                maxLength: 2048,
                pattern: '^arn:[A-Za-z0-9_+=,.@:/*?-]+$',
              }),
              `Managed policies the spec may attach. ${globDescription} Absent: none.`,
            ),
          ),
          grants: Type.Optional(
            Type.Array(
              StringEnum(GRANT_PRESETS, {
                description: 'A grant preset.',
              }),
              {
                description:
                  'Grant presets the spec may use (spec.role.grants, spec.iamUser.grants). Absent: all.',
                maxItems: 20,
                'x-kubernetes-list-type': 'set',
              },
            ),
          ),
          passRoleArns: Type.Optional(
            strings(
              Type.String({
                description: 'A role ARN or glob.',
                maxLength: 2048,
                pattern: '^arn:[A-Za-z0-9_+=,.@:/*?-]+$',
              }),
              `Roles the grant presets may pass to a service (ecsDeploy.taskRoleArns, cloudFormationDeploy.roleArn): passing a role lets the job give its permissions to a task or stack. ${globDescription} Absent: none.`,
            ),
          ),
          inlinePolicies: Type.Optional(
            Type.Boolean({
              description:
                'May the spec carry inlinePolicies (any IAM document, bounded only by the permissions boundary)? Default false.',
              default: false,
            }),
          ),
          maxSessionDuration: Type.Optional(
            Type.Integer({
              description: 'Largest spec.role.maxSessionDuration allowed, in seconds. Absent: 43200.',
              minimum: 3600,
              maximum: 43200,
            }),
          ),
        },
        {
          description:
            'Limits on the IAM role of an OIDC federation and on the IAM user of an IAMUserAccessKeys one.',
        },
      ),
    ),
    methods: Type.Optional(
      Type.Array(StringEnum(['OIDC', 'IAMUserAccessKeys'], { description: 'A federation method.' }), {
        description: 'Federation methods the namespaces may use. Default [OIDC].',
        minItems: 1,
        maxItems: 2,
        default: ['OIDC'],
        'x-kubernetes-list-type': 'set',
      }),
    ),
    adoption: Type.Optional(
      Type.Boolean({
        description:
          'May a resource take over an existing role, user or connection without the owner tag through the annotation gitlab-aws.io/adopt: "true"? Default false.',
        default: false,
      }),
    ),
    connections: Type.Optional(
      Type.Boolean({
        description: 'May the namespaces create GitLabConnections? Default true.',
        default: true,
      }),
    ),
  },
  { description: 'What the resources in the selected namespaces may ask for.' },
);

export const GitLabAwsPolicyStatusSchema = Type.Object(
  {},
  { description: 'GitLabAwsPolicy has no status; see the resources it selects.' },
);

export type GitLabAwsPolicySpec = Static<typeof GitLabAwsPolicySpecSchema>;
export type NamespaceSelector = Static<typeof NamespaceSelectorSchema>;
