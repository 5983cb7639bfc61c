// What a GitLabAwsPolicy allows, case by case: one table for every limit of
// src/policy/tenancy.ts, each with a refused and an accepted resource, and the
// attacks a tenant would try. test/tenancy/admission.test.ts holds the chart's
// ValidatingAdmissionPolicy (kubectl apply against the real API server) and
// src/policy/tenancy.ts to the verdict written here; the operator's tenancy
// tests can use the same table (instantiate + evaluate). No vitest here.
import type {
  GitLabAwsFederationSpec,
  GitLabAwsPolicySpec,
  GitLabConnectionSpec,
  NamespaceSelector,
} from '../../src/api/v1alpha1/index.ts';
import {
  evaluateConnection,
  evaluateFederation,
  type NamedPolicy,
  type Verdict,
} from '../../src/policy/tenancy.ts';

/** The field of a violation, as src/policy/tenancy.ts names it, and the policy (by its name in the case). */
export interface ExpectedViolation {
  policy: string;
  field: string;
}

export type Expected = 'allowed' | 'NoPolicy' | { violations: ExpectedViolation[] };

export type CaseResource =
  | {
      kind: 'GitLabAwsFederation';
      metadata: { name: string; annotations?: Record<string, string> };
      spec: GitLabAwsFederationSpec;
    }
  | {
      kind: 'GitLabConnection';
      metadata: { name: string; annotations?: Record<string, string> };
      spec: GitLabConnectionSpec;
    };

export interface TenancyCase {
  name: string;
  policies: NamedPolicy[];
  /** Labels of the resource's namespace (besides kubernetes.io/metadata.name, which it always has). */
  namespaceLabels: Record<string, string>;
  /** The namespace's name starts with this (the default role name is <namespace>-<name>). */
  namespacePrefix?: string;
  /** The operator's default region (--aws-region). */
  defaultRegion?: string;
  resource: CaseResource;
  /** What src/policy/tenancy.ts decides, so what the operator enforces before any write. */
  expected: Expected;
  /** Where the API server cannot tell at apply time: what it decides instead, and why. */
  admission?: { expected: 'allowed'; because: string };
}

// ---------------------------------------------------------------------------
// Building blocks

const ACCOUNT = '123456789012';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/gitlab-aws-payments`;
const OTHER_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/gitlab-aws-platform`;
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/gitlab-boundary`;
const OTHER_BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/PowerUserBoundary`;
const ECR_GLOB = 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistry*';
const ECR_POWER_USER = 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser';
const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const SELF_HOSTED = 'https://gitlab.payments.example';

const TEAM = { team: 'payments' };
const SELECT_TEAM: NamespaceSelector = { matchLabels: TEAM };

/** The platform team's policy for the payments team. */
const PAYMENTS: GitLabAwsPolicySpec = {
  namespaceSelector: SELECT_TEAM,
  gitlab: { urls: ['https://gitlab.com', SELF_HOSTED], paths: ['payments', 'shared/ci-tools'] },
};

function policy(name: string, patch: Partial<GitLabAwsPolicySpec> = {}): NamedPolicy {
  return { name, spec: { ...PAYMENTS, ...patch } };
}
const payments = (patch: Partial<GitLabAwsPolicySpec> = {}) => policy('team-payments', patch);

const TOKEN = { tokenSecretRef: { name: 'gitlab-token', key: 'token' } };

function federation(
  spec: Partial<GitLabAwsFederationSpec> = {},
  metadata: { name?: string; annotations?: Record<string, string> } = {},
): CaseResource {
  return {
    kind: 'GitLabAwsFederation',
    metadata: {
      name: metadata.name ?? 'api',
      ...(metadata.annotations ? { annotations: metadata.annotations } : {}),
    },
    spec: { access: [{ project: 'payments/api', refs: ['main'] }], ...spec },
  };
}

function keys(spec: Partial<GitLabAwsFederationSpec> = {}): CaseResource {
  return {
    kind: 'GitLabAwsFederation',
    metadata: { name: 'ci-keys' },
    spec: {
      method: 'IAMUserAccessKeys',
      gitlab: TOKEN,
      iamUser: {},
      ciVariables: { target: { project: 'payments/api' } },
      ...spec,
    },
  };
}

function connection(spec: GitLabConnectionSpec = {}, annotations?: Record<string, string>): CaseResource {
  return {
    kind: 'GitLabConnection',
    metadata: { name: 'gitlab', ...(annotations ? { annotations } : {}) },
    spec,
  };
}

const refused = (policy: string, ...fields: string[]): Expected => ({
  violations: fields.map((field) => ({ policy, field })),
});

// ---------------------------------------------------------------------------
// The table

export const CASES: TenancyCase[] = [
  // --- which namespaces a policy holds -------------------------------------
  {
    name: 'a resource that satisfies the one policy selecting its namespace is allowed',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation(),
    expected: 'allowed',
  },
  {
    name: 'a policy with namespaceSelector {} holds every namespace',
    policies: [payments({ namespaceSelector: {} })],
    namespaceLabels: {},
    resource: federation({ access: [{ project: 'other/x', refs: ['main'] }] }),
    expected: refused('team-payments', 'spec.access[0].project'),
  },
  {
    name: 'a namespace no policy selects, while other policies exist: refused by the operator only',
    policies: [payments()],
    namespaceLabels: { team: 'marketing' },
    resource: federation(),
    expected: 'NoPolicy',
    admission: {
      expected: 'allowed',
      because:
        'the API server judges each policy on its own: one that does not select the namespace allows it, and none can say that no other selects it',
    },
  },
  {
    name: 'matchExpressions In: a stricter policy for production namespaces holds them',
    policies: [
      payments(),
      policy('payments-prod', {
        namespaceSelector: {
          matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'staging'] }],
        },
        methods: ['OIDC'],
        role: { inlinePolicies: false, maxSessionDuration: 3600 },
      }),
    ],
    namespaceLabels: { ...TEAM, env: 'prod' },
    resource: federation({ role: { maxSessionDuration: 7200 } }),
    expected: refused('payments-prod', 'spec.role.maxSessionDuration'),
  },
  {
    name: 'matchExpressions In: a namespace without the value is not held by it',
    policies: [
      payments(),
      policy('payments-prod', {
        namespaceSelector: {
          matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'staging'] }],
        },
        role: { maxSessionDuration: 3600 },
      }),
    ],
    namespaceLabels: { ...TEAM, env: 'dev' },
    resource: federation({ role: { maxSessionDuration: 7200 } }),
    expected: 'allowed',
  },
  {
    name: 'matchExpressions NotIn: holds a namespace without the label',
    policies: [
      payments(),
      policy('not-sandbox', {
        namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['sandbox'] }] },
        gitlab: { urls: ['https://gitlab.com'], paths: ['*'] },
      }),
    ],
    namespaceLabels: TEAM,
    resource: federation({ gitlab: { url: SELF_HOSTED } }),
    expected: refused('not-sandbox', 'spec.gitlab.url'),
  },
  {
    name: 'matchExpressions NotIn: does not hold a namespace with a listed value',
    policies: [
      payments(),
      policy('not-sandbox', {
        namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['sandbox'] }] },
        gitlab: { urls: ['https://gitlab.com'], paths: ['*'] },
      }),
    ],
    namespaceLabels: { ...TEAM, env: 'sandbox' },
    resource: federation({ gitlab: { url: SELF_HOSTED } }),
    expected: 'allowed',
  },
  {
    name: 'matchExpressions Exists: holds a namespace with the label, whatever its value',
    policies: [
      payments(),
      policy('pci', {
        namespaceSelector: { matchExpressions: [{ key: 'pci', operator: 'Exists' }] },
        gitlab: { urls: ['https://gitlab.com', SELF_HOSTED], paths: ['*'] },
        adoption: false,
      }),
    ],
    namespaceLabels: { ...TEAM, pci: '' },
    resource: federation({}, { annotations: { 'gitlab-aws.io/adopt': 'true' } }),
    expected: {
      violations: [
        { policy: 'team-payments', field: 'metadata.annotations[gitlab-aws.io/adopt]' },
        { policy: 'pci', field: 'metadata.annotations[gitlab-aws.io/adopt]' },
      ],
    },
  },
  {
    name: 'matchExpressions DoesNotExist: a catch-all policy that allows nothing refuses namespaces no team policy selects',
    policies: [
      payments(),
      policy('no-team', {
        namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] },
        gitlab: { urls: ['https://nothing.invalid'], paths: ['nothing'] },
        connections: false,
      }),
    ],
    namespaceLabels: {},
    resource: federation(),
    expected: refused('no-team', 'spec.gitlab.url', 'spec.access[0].project'),
  },
  {
    name: 'matchExpressions DoesNotExist: the catch-all does not hold a team namespace',
    policies: [
      payments(),
      policy('no-team', {
        namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] },
        gitlab: { urls: ['https://nothing.invalid'], paths: ['nothing'] },
        connections: false,
      }),
    ],
    namespaceLabels: TEAM,
    resource: connection(),
    expected: 'allowed',
  },
  {
    name: 'matchLabels and matchExpressions together: every requirement must hold',
    policies: [
      payments(),
      policy('payments-prod', {
        namespaceSelector: {
          matchLabels: TEAM,
          matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }],
        },
        methods: ['OIDC'],
      }),
    ],
    namespaceLabels: { team: 'marketing', env: 'prod', other: 'x' },
    resource: federation(),
    expected: 'NoPolicy',
    admission: {
      expected: 'allowed',
      because: 'no policy selects the namespace while others exist (see above)',
    },
  },

  // --- two policies: both must pass ----------------------------------------
  {
    name: 'two policies select the namespace and both allow the resource',
    policies: [
      payments({ role: { pathPrefix: '/gitlab/', managedPolicyArns: [ECR_GLOB, ADMIN] } }),
      policy('org-baseline', {
        namespaceSelector: {},
        gitlab: { urls: ['https://gitlab.com'], paths: ['*'] },
        role: { pathPrefix: '/gitlab/payments/', managedPolicyArns: ['arn:aws:iam::aws:policy/*'] },
      }),
    ],
    namespaceLabels: TEAM,
    resource: federation({ role: { path: '/gitlab/payments/ci/', managedPolicyArns: [ECR_POWER_USER] } }),
    expected: 'allowed',
  },
  {
    name: 'two policies: what one allows and the other does not is refused, naming the other',
    policies: [
      payments({ role: { managedPolicyArns: [ECR_GLOB, ADMIN] } }),
      policy('org-baseline', {
        namespaceSelector: {},
        gitlab: { urls: ['https://gitlab.com'], paths: ['*'] },
        role: { managedPolicyArns: [ECR_GLOB] },
      }),
    ],
    namespaceLabels: TEAM,
    resource: federation({ role: { managedPolicyArns: [ECR_POWER_USER, ADMIN] } }),
    expected: refused('org-baseline', 'spec.role.managedPolicyArns[1]'),
  },
  {
    name: 'two policies: an omitted role path gets the longer prefix, which satisfies both',
    policies: [
      payments({ role: { pathPrefix: '/gitlab/' } }),
      policy('org-baseline', {
        namespaceSelector: {},
        gitlab: { urls: ['https://gitlab.com'], paths: ['*'] },
        role: { pathPrefix: '/gitlab/payments/' },
      }),
    ],
    namespaceLabels: TEAM,
    resource: federation(),
    expected: 'allowed',
  },
  {
    name: 'two policies: an omitted role path between prefixes that disagree',
    policies: [
      payments({ role: { pathPrefix: '/gitlab/payments/' } }),
      policy('org-baseline', {
        namespaceSelector: {},
        gitlab: { urls: ['https://gitlab.com'], paths: ['*'] },
        role: { pathPrefix: '/ci/' },
      }),
    ],
    namespaceLabels: TEAM,
    resource: federation(),
    expected: refused('org-baseline', 'spec.role.path'),
    admission: {
      expected: 'allowed',
      because:
        'the path a spec leaves out is chosen from all the policies together; the API server sees one policy at a time, and each allows its own prefix',
    },
  },
  {
    name: 'two policies: an omitted boundary when they require different ones',
    policies: [
      payments({ role: { permissionsBoundaryArn: BOUNDARY } }),
      policy('org-baseline', {
        namespaceSelector: {},
        gitlab: { urls: ['https://gitlab.com'], paths: ['*'] },
        role: { permissionsBoundaryArn: OTHER_BOUNDARY },
      }),
    ],
    namespaceLabels: TEAM,
    resource: federation(),
    expected: refused('org-baseline', 'spec.role.permissionsBoundaryArn'),
    admission: {
      expected: 'allowed',
      because:
        'the boundary a spec leaves out comes from the policies together; the API server sees one policy at a time',
    },
  },
  {
    name: 'two policies: a boundary the spec names must be the one both require',
    policies: [
      payments({ role: { permissionsBoundaryArn: BOUNDARY } }),
      policy('org-baseline', {
        namespaceSelector: {},
        gitlab: { urls: ['https://gitlab.com'], paths: ['*'] },
        role: { permissionsBoundaryArn: OTHER_BOUNDARY },
      }),
    ],
    namespaceLabels: TEAM,
    resource: federation({ role: { permissionsBoundaryArn: BOUNDARY } }),
    expected: refused('org-baseline', 'spec.role.permissionsBoundaryArn'),
  },

  // --- gitlab.url -----------------------------------------------------------
  {
    name: 'gitlab.url: a listed instance is allowed',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({ gitlab: { url: SELF_HOSTED } }),
    expected: 'allowed',
  },
  {
    name: 'gitlab.url: attack: a foreign instance',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({ gitlab: { url: 'https://gitlab.attacker.example' } }),
    expected: refused('team-payments', 'spec.gitlab.url'),
  },
  {
    name: 'gitlab.url: omitted is https://gitlab.com, refused when the policy does not list it',
    policies: [payments({ gitlab: { urls: [SELF_HOSTED], paths: ['payments'] } })],
    namespaceLabels: TEAM,
    resource: federation(),
    expected: refused('team-payments', 'spec.gitlab.url'),
  },
  {
    name: 'gitlab.url: a GitLabConnection to a foreign instance',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: connection({ gitlab: { url: 'https://gitlab.attacker.example' } }),
    expected: refused('team-payments', 'spec.gitlab.url'),
  },

  // --- gitlab.paths: access[] and ciVariables.target -----------------------
  {
    name: 'paths: projects and groups under the allowed paths, in any case',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({
      access: [
        { project: 'Payments/API', refs: ['main'] },
        { group: 'payments/backend', refs: ['main'] },
        { group: 'payments', refs: ['main'] },
        { project: 'shared/ci-tools/deployer', refs: ['main'] },
      ],
      gitlab: TOKEN,
      ciVariables: { target: { group: 'PAYMENTS/backend' } },
    }),
    expected: 'allowed',
  },
  {
    name: 'paths: attack: another group’s project in access',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({
      access: [
        { project: 'payments/api', refs: ['main'] },
        { project: 'platform/terraform', refs: ['main'] },
      ],
    }),
    expected: refused('team-payments', 'spec.access[1].project'),
  },
  {
    name: 'paths: attack: a group whose name only starts like an allowed one',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({ access: [{ group: 'payments-evil', refs: ['main'] }] }),
    expected: refused('team-payments', 'spec.access[0].group'),
  },
  {
    name: 'paths: attack: the parent group of an allowed subgroup',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({ access: [{ group: 'shared', refs: ['main'] }] }),
    expected: refused('team-payments', 'spec.access[0].group'),
  },
  {
    name: 'paths: attack: another group’s project as ciVariables.target',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({ gitlab: TOKEN, ciVariables: { target: { project: 'platform/terraform' } } }),
    expected: refused('team-payments', 'spec.ciVariables.target.project'),
  },
  {
    name: 'paths: another group as ciVariables.target of an IAM user',
    policies: [payments({ methods: ['IAMUserAccessKeys'] })],
    namespaceLabels: TEAM,
    resource: keys({ ciVariables: { target: { group: 'platform' } } }),
    expected: refused('team-payments', 'spec.ciVariables.target.group'),
  },
  {
    name: 'paths: "*" allows every path',
    policies: [payments({ gitlab: { urls: ['https://gitlab.com'], paths: ['*'] } })],
    namespaceLabels: TEAM,
    resource: federation({
      access: [{ group: 'platform', refs: ['main'] }],
      gitlab: TOKEN,
      ciVariables: { target: { project: 'anyone/anything' } },
    }),
    expected: 'allowed',
  },

  // --- aws.assumeRoleArn ----------------------------------------------------
  {
    name: 'assumeRoleArn: attack: set when the policy allows none',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({ aws: { assumeRoleArn: OTHER_ROLE_ARN } }),
    expected: refused('team-payments', 'spec.aws.assumeRoleArn'),
  },
  {
    name: 'assumeRoleArn: one the policy does not list',
    policies: [payments({ aws: { assumeRoleArns: [ROLE_ARN] } })],
    namespaceLabels: TEAM,
    resource: connection({ aws: { assumeRoleArn: OTHER_ROLE_ARN } }),
    expected: refused('team-payments', 'spec.aws.assumeRoleArn'),
  },
  {
    name: 'assumeRoleArn: one the policy lists',
    policies: [payments({ aws: { assumeRoleArns: [ROLE_ARN] } })],
    namespaceLabels: TEAM,
    resource: federation({ aws: { assumeRoleArn: ROLE_ARN } }),
    expected: 'allowed',
  },

  // --- aws.region -----------------------------------------------------------
  {
    name: 'region: a listed region',
    policies: [payments({ aws: { regions: ['eu-west-1', 'eu-central-1'] } })],
    namespaceLabels: TEAM,
    resource: federation({ aws: { region: 'eu-central-1' } }),
    expected: 'allowed',
  },
  {
    name: 'region: a region the policy does not list',
    policies: [payments({ aws: { regions: ['eu-west-1'] } })],
    namespaceLabels: TEAM,
    resource: connection({ aws: { region: 'us-east-1' } }),
    expected: refused('team-payments', 'spec.aws.region'),
  },
  {
    name: 'region: omitted, and the operator’s default is listed',
    policies: [payments({ aws: { regions: ['eu-west-1'] } })],
    namespaceLabels: TEAM,
    defaultRegion: 'eu-west-1',
    resource: federation(),
    expected: 'allowed',
  },
  {
    name: 'region: omitted, and the operator’s default is not listed',
    policies: [payments({ aws: { regions: ['eu-west-1'] } })],
    namespaceLabels: TEAM,
    defaultRegion: 'us-east-1',
    resource: federation(),
    expected: refused('team-payments', 'spec.aws.region'),
    admission: {
      expected: 'allowed',
      because: 'the API server does not know the operator’s default region (--aws-region)',
    },
  },

  // --- method ---------------------------------------------------------------
  {
    name: 'method: attack: IAMUserAccessKeys when only OIDC is allowed (the default)',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: keys(),
    expected: refused('team-payments', 'spec.method'),
  },
  {
    name: 'method: IAMUserAccessKeys when the policy lists it',
    policies: [payments({ methods: ['OIDC', 'IAMUserAccessKeys'] })],
    namespaceLabels: TEAM,
    resource: keys(),
    expected: 'allowed',
  },
  {
    name: 'method: OIDC when the policy lists only IAMUserAccessKeys',
    policies: [payments({ methods: ['IAMUserAccessKeys'] })],
    namespaceLabels: TEAM,
    resource: federation(),
    expected: refused('team-payments', 'spec.method'),
  },

  // --- role.pathPrefix ------------------------------------------------------
  {
    name: 'role path: attack: a path outside the prefix',
    policies: [payments({ role: { pathPrefix: '/gitlab/payments/' } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { path: '/gitlab/' } }),
    expected: refused('team-payments', 'spec.role.path'),
  },
  {
    name: 'role path: a path below the prefix',
    policies: [payments({ role: { pathPrefix: '/gitlab/payments/' } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { path: '/gitlab/payments/api/' } }),
    expected: 'allowed',
  },
  {
    name: 'role path: omitted, the role gets the prefix',
    policies: [payments({ role: { pathPrefix: '/gitlab/payments/' } })],
    namespaceLabels: TEAM,
    resource: federation({ role: {} }),
    expected: 'allowed',
  },
  {
    name: 'user path: an IAM user outside the prefix',
    policies: [payments({ methods: ['IAMUserAccessKeys'], role: { pathPrefix: '/gitlab/payments/' } })],
    namespaceLabels: TEAM,
    resource: keys({ iamUser: { path: '/' } }),
    expected: refused('team-payments', 'spec.iamUser.path'),
  },

  // --- role.namePrefix ------------------------------------------------------
  {
    name: 'role name: a name without the prefix',
    policies: [payments({ role: { namePrefix: 'payments-' } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { name: 'platform-admin' } }),
    expected: refused('team-payments', 'spec.role.name'),
  },
  {
    name: 'role name: a name with the prefix',
    policies: [payments({ role: { namePrefix: 'payments-' } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { name: 'payments-api-deploy' } }),
    expected: 'allowed',
  },
  {
    name: 'role name: the default <namespace>-<name> without the prefix',
    policies: [payments({ role: { namePrefix: 'payments-' } })],
    namespaceLabels: TEAM,
    namespacePrefix: 'tenancy',
    resource: federation(),
    expected: refused('team-payments', 'spec.role.name'),
  },
  {
    name: 'role name: the default <namespace>-<name> with the prefix',
    policies: [payments({ role: { namePrefix: 'payments-' } })],
    namespaceLabels: TEAM,
    namespacePrefix: 'payments',
    resource: federation(),
    expected: 'allowed',
  },
  {
    name: 'user name: an IAM user without the prefix',
    policies: [payments({ methods: ['IAMUserAccessKeys'], role: { namePrefix: 'payments-' } })],
    namespaceLabels: TEAM,
    resource: keys({ iamUser: { name: 'ci-deployer' } }),
    expected: refused('team-payments', 'spec.iamUser.name'),
  },

  // --- role.permissionsBoundaryArn ------------------------------------------
  {
    name: 'boundary: attack: another boundary than the required one',
    policies: [payments({ role: { permissionsBoundaryArn: BOUNDARY } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { permissionsBoundaryArn: OTHER_BOUNDARY } }),
    expected: refused('team-payments', 'spec.role.permissionsBoundaryArn'),
  },
  {
    name: 'boundary: the required one',
    policies: [payments({ role: { permissionsBoundaryArn: BOUNDARY } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { permissionsBoundaryArn: BOUNDARY } }),
    expected: 'allowed',
  },
  {
    name: 'boundary: omitted, the operator applies the required one',
    policies: [payments({ role: { permissionsBoundaryArn: BOUNDARY } })],
    namespaceLabels: TEAM,
    resource: federation(),
    expected: 'allowed',
  },
  {
    name: 'boundary: any, when the policy requires none',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({ role: { permissionsBoundaryArn: OTHER_BOUNDARY } }),
    expected: 'allowed',
  },
  {
    name: 'boundary: attack: an IAM user with another boundary',
    policies: [payments({ methods: ['IAMUserAccessKeys'], role: { permissionsBoundaryArn: BOUNDARY } })],
    namespaceLabels: TEAM,
    resource: keys({ iamUser: { permissionsBoundaryArn: OTHER_BOUNDARY } }),
    expected: refused('team-payments', 'spec.iamUser.permissionsBoundaryArn'),
  },

  // --- role.managedPolicyArns -----------------------------------------------
  {
    name: 'managed policies: attack: AdministratorAccess',
    policies: [payments({ role: { managedPolicyArns: [ECR_GLOB] } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { managedPolicyArns: [ECR_POWER_USER, ADMIN] } }),
    expected: refused('team-payments', 'spec.role.managedPolicyArns[1]'),
  },
  {
    name: 'managed policies: attack: AdministratorAccess when the policy allows none',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({ role: { managedPolicyArns: [ADMIN] } }),
    expected: refused('team-payments', 'spec.role.managedPolicyArns[0]'),
  },
  {
    name: 'managed policies: every one matches a glob (* and ?) or an exact ARN',
    policies: [
      payments({
        role: {
          managedPolicyArns: [
            ECR_GLOB,
            `arn:aws:iam::${ACCOUNT}:policy/payments-v?`,
            'arn:aws:iam::aws:policy/ReadOnlyAccess',
          ],
        },
      }),
    ],
    namespaceLabels: TEAM,
    resource: federation({
      role: {
        managedPolicyArns: [
          ECR_POWER_USER,
          `arn:aws:iam::${ACCOUNT}:policy/payments-v2`,
          'arn:aws:iam::aws:policy/ReadOnlyAccess',
        ],
      },
    }),
    expected: 'allowed',
  },
  // --- role.grants and role.passRoleArns --------------------------------------
  {
    name: 'grants: attack: a preset the policy does not list',
    policies: [payments({ role: { grants: ['ecrPush', 'secretsRead'] } })],
    namespaceLabels: TEAM,
    resource: federation({
      role: {
        grants: [
          { ecrPush: { repositories: ['payments/api'] } },
          { cloudFormationDeploy: { stackNames: ['payments-web'], cdk: true } },
        ],
      },
    }),
    expected: refused('team-payments', 'spec.role.grants[1]'),
  },
  {
    name: 'grants: the listed presets, and every preset when the policy lists none',
    policies: [payments({ role: { grants: ['ecrPush', 'secretsRead'] } }), policy('org-baseline')],
    namespaceLabels: TEAM,
    resource: federation({
      role: {
        grants: [
          { secretsRead: { secretArns: [`arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:payments/*`] } },
          { ecrPush: { repositories: ['payments/api'] } },
        ],
      },
    }),
    expected: 'allowed',
  },
  {
    name: 'grants: attack: an IAM user with a preset the policy does not list',
    policies: [payments({ methods: ['IAMUserAccessKeys'], role: { grants: ['ecrPush'] } })],
    namespaceLabels: TEAM,
    resource: keys({ iamUser: { grants: [{ s3Deploy: { buckets: ['payments-site'] } }] } }),
    expected: refused('team-payments', 'spec.iamUser.grants[0]'),
  },
  {
    name: 'pass role: attack: an administrator role for the ECS tasks, when the policy lets none be passed',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({
      role: {
        grants: [
          {
            ecsDeploy: {
              cluster: 'prod',
              services: ['api'],
              taskRoleArns: [`arn:aws:iam::${ACCOUNT}:role/OrganizationAccountAccessRole`],
            },
          },
        ],
      },
    }),
    expected: refused('team-payments', 'spec.role.grants[0].ecsDeploy.taskRoleArns[0]'),
  },
  {
    name: 'pass role: attack: a role outside the allowed globs, for ECS and for CloudFormation',
    policies: [payments({ role: { passRoleArns: [`arn:aws:iam::${ACCOUNT}:role/payments/*`] } })],
    namespaceLabels: TEAM,
    resource: federation({
      role: {
        grants: [
          {
            ecsDeploy: {
              cluster: 'prod',
              services: ['api'],
              taskRoleArns: [
                `arn:aws:iam::${ACCOUNT}:role/payments/api-task`,
                `arn:aws:iam::${ACCOUNT}:role/admin`,
              ],
            },
          },
          {
            cloudFormationDeploy: {
              stackNames: ['payments-web'],
              roleArn: `arn:aws:iam::${ACCOUNT}:role/cfn-admin`,
            },
          },
        ],
      },
    }),
    expected: refused(
      'team-payments',
      'spec.role.grants[0].ecsDeploy.taskRoleArns[1]',
      'spec.role.grants[1].cloudFormationDeploy.roleArn',
    ),
  },
  {
    name: 'pass role: roles the policy lets a grant pass',
    policies: [
      payments({
        role: {
          passRoleArns: [
            `arn:aws:iam::${ACCOUNT}:role/payments/*`,
            `arn:aws:iam::${ACCOUNT}:role/cfn-payments`,
          ],
        },
      }),
    ],
    namespaceLabels: TEAM,
    resource: federation({
      role: {
        grants: [
          {
            ecsDeploy: {
              cluster: 'prod',
              services: ['api'],
              taskRoleArns: [`arn:aws:iam::${ACCOUNT}:role/payments/api-task`],
            },
          },
          {
            cloudFormationDeploy: {
              stackNames: ['payments-web'],
              roleArn: `arn:aws:iam::${ACCOUNT}:role/cfn-payments`,
            },
          },
        ],
      },
    }),
    expected: 'allowed',
  },
  {
    name: 'managed policies: ? is one character, not more',
    policies: [payments({ role: { managedPolicyArns: [`arn:aws:iam::${ACCOUNT}:policy/payments-v?`] } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { managedPolicyArns: [`arn:aws:iam::${ACCOUNT}:policy/payments-v10`] } }),
    expected: refused('team-payments', 'spec.role.managedPolicyArns[0]'),
  },
  {
    name: 'managed policies: a . in a glob is a dot, not any character',
    policies: [
      payments({ role: { managedPolicyArns: [`arn:aws:iam::${ACCOUNT}:policy/team.payments-v?`] } }),
    ],
    namespaceLabels: TEAM,
    resource: federation({
      role: { managedPolicyArns: [`arn:aws:iam::${ACCOUNT}:policy/teamXpayments-v1`] },
    }),
    expected: refused('team-payments', 'spec.role.managedPolicyArns[0]'),
  },
  {
    name: 'managed policies: a + in a glob is a plus, not a repetition',
    policies: [payments({ role: { managedPolicyArns: [`arn:aws:iam::${ACCOUNT}:policy/ci+cd-*-v?`] } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { managedPolicyArns: [`arn:aws:iam::${ACCOUNT}:policy/ciicd-deploy-v1`] } }),
    expected: refused('team-payments', 'spec.role.managedPolicyArns[0]'),
  },
  {
    name: 'managed policies: . and + in a glob with wildcards match themselves',
    policies: [payments({ role: { managedPolicyArns: [`arn:aws:iam::${ACCOUNT}:policy/ci+cd.*-v?`] } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { managedPolicyArns: [`arn:aws:iam::${ACCOUNT}:policy/ci+cd.deploy-v1`] } }),
    expected: 'allowed',
  },
  {
    name: 'managed policies: an exact ARN matches itself, not a longer one',
    policies: [payments({ role: { managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccessAndMore'] } }),
    expected: refused('team-payments', 'spec.role.managedPolicyArns[0]'),
  },
  {
    name: 'managed policies: attack: AdministratorAccess on an IAM user',
    policies: [payments({ methods: ['IAMUserAccessKeys'], role: { managedPolicyArns: [ECR_GLOB] } })],
    namespaceLabels: TEAM,
    resource: keys({ iamUser: { managedPolicyArns: [ADMIN] } }),
    expected: refused('team-payments', 'spec.iamUser.managedPolicyArns[0]'),
  },

  // --- role.inlinePolicies --------------------------------------------------
  {
    name: 'inline policies: attack: an inline policy when the policy does not allow them',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({
      role: {
        inlinePolicies: {
          everything: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
        },
      },
    }),
    expected: refused('team-payments', 'spec.role.inlinePolicies'),
  },
  {
    name: 'inline policies: allowed when the policy says so',
    policies: [payments({ role: { inlinePolicies: true } })],
    namespaceLabels: TEAM,
    resource: federation({
      role: {
        inlinePolicies: {
          ecr: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }] },
        },
      },
    }),
    expected: 'allowed',
  },
  {
    name: 'inline policies: an empty map is no inline policy',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({ role: { inlinePolicies: {} } }),
    expected: 'allowed',
  },
  {
    name: 'inline policies: attack: on an IAM user',
    policies: [payments({ methods: ['IAMUserAccessKeys'] })],
    namespaceLabels: TEAM,
    resource: keys({
      iamUser: { inlinePolicies: { all: { Version: '2012-10-17', Statement: [] } } },
    }),
    expected: refused('team-payments', 'spec.iamUser.inlinePolicies'),
  },

  // --- role.maxSessionDuration ----------------------------------------------
  {
    name: 'session duration: above the policy’s maximum',
    policies: [payments({ role: { maxSessionDuration: 7200 } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { maxSessionDuration: 7201 } }),
    expected: refused('team-payments', 'spec.role.maxSessionDuration'),
  },
  {
    name: 'session duration: at the policy’s maximum',
    policies: [payments({ role: { maxSessionDuration: 7200 } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { maxSessionDuration: 7200 } }),
    expected: 'allowed',
  },
  {
    name: 'session duration: the default (3600) under a 3600 maximum',
    policies: [payments({ role: { maxSessionDuration: 3600 } })],
    namespaceLabels: TEAM,
    resource: federation({ role: { name: 'payments-api' } }),
    expected: 'allowed',
  },

  // --- adoption -------------------------------------------------------------
  {
    name: 'adoption: attack: gitlab-aws.io/adopt: "true" when the policy does not allow it',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({}, { annotations: { 'gitlab-aws.io/adopt': 'true' } }),
    expected: refused('team-payments', 'metadata.annotations[gitlab-aws.io/adopt]'),
  },
  {
    name: 'adoption: on a GitLabConnection',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: connection({}, { 'gitlab-aws.io/adopt': 'true' }),
    expected: refused('team-payments', 'metadata.annotations[gitlab-aws.io/adopt]'),
  },
  {
    name: 'adoption: allowed when the policy says so',
    policies: [payments({ adoption: true })],
    namespaceLabels: TEAM,
    resource: federation({}, { annotations: { 'gitlab-aws.io/adopt': 'true' } }),
    expected: 'allowed',
  },
  {
    name: 'adoption: an annotation other than "true" adopts nothing',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: federation({}, { annotations: { 'gitlab-aws.io/adopt': 'false' } }),
    expected: 'allowed',
  },

  // --- connections ----------------------------------------------------------
  {
    name: 'connections: attack: a GitLabConnection when connections: false',
    policies: [payments({ connections: false })],
    namespaceLabels: TEAM,
    resource: connection(),
    expected: refused('team-payments', 'kind'),
  },
  {
    name: 'connections: a GitLabConnection by default',
    policies: [payments()],
    namespaceLabels: TEAM,
    resource: connection({ gitlab: { url: SELF_HOSTED }, aws: { region: 'eu-west-1' } }),
    expected: 'allowed',
  },
  {
    name: 'connections: false does not concern federations',
    policies: [payments({ connections: false })],
    namespaceLabels: TEAM,
    resource: federation(),
    expected: 'allowed',
  },

  // --- everything a tenant could ask for at once ----------------------------
  {
    name: 'a federation that asks for everything at once: every violation is reported',
    policies: [
      payments({
        aws: { regions: ['eu-west-1'] },
        role: {
          pathPrefix: '/gitlab/payments/',
          namePrefix: 'payments-',
          permissionsBoundaryArn: BOUNDARY,
          managedPolicyArns: [ECR_GLOB],
          maxSessionDuration: 3600,
        },
      }),
    ],
    namespaceLabels: TEAM,
    resource: federation(
      {
        gitlab: { url: 'https://gitlab.attacker.example', ...TOKEN },
        aws: { assumeRoleArn: OTHER_ROLE_ARN, region: 'us-east-1' },
        access: [
          { project: 'payments/api', refs: ['main'] },
          { group: 'platform', refs: ['*'] },
        ],
        ciVariables: { target: { group: 'platform' } },
        role: {
          name: 'admin',
          path: '/',
          permissionsBoundaryArn: OTHER_BOUNDARY,
          managedPolicyArns: [ADMIN],
          inlinePolicies: { all: { Version: '2012-10-17', Statement: [] } },
          maxSessionDuration: 43200,
        },
      },
      { annotations: { 'gitlab-aws.io/adopt': 'true' } },
    ),
    expected: refused(
      'team-payments',
      'spec.gitlab.url',
      'spec.aws.assumeRoleArn',
      'spec.aws.region',
      'metadata.annotations[gitlab-aws.io/adopt]',
      'spec.access[1].group',
      'spec.ciVariables.target.group',
      'spec.role.path',
      'spec.role.name',
      'spec.role.permissionsBoundaryArn',
      'spec.role.managedPolicyArns[0]',
      'spec.role.inlinePolicies',
      'spec.role.maxSessionDuration',
    ),
  },
];

// ---------------------------------------------------------------------------
// Running a case

/** A case made concrete for one namespace: policy names made unique, selectors narrowed to it. */
export interface Instance {
  namespace: string;
  /** Every label of the namespace, kubernetes.io/metadata.name included. */
  namespaceLabels: Record<string, string>;
  policies: NamedPolicy[];
  /** The unique name of each policy, by its name in the case. */
  policyNames: Record<string, string>;
  /** The manifest to apply (kind, apiVersion, metadata with namespace, spec). */
  manifest: {
    apiVersion: 'gitlab-aws.io/v1alpha1';
    kind: CaseResource['kind'];
    metadata: { name: string; namespace: string; annotations?: Record<string, string> };
    spec: CaseResource['spec'];
  };
}

export interface InstanceOptions {
  namespace: string;
  /** Appended to every policy name, so that the policies of several cases and runs can coexist. */
  suffix: string;
  /**
   * A label the namespace gets and every policy's selector requires, so that a
   * case's policies select its namespace only and never another test's.
   */
  isolation: { key: string; value: string };
  /** More labels for the namespace. */
  labels?: Record<string, string>;
}

export function instantiate(c: TenancyCase, o: InstanceOptions): Instance {
  const policyNames = Object.fromEntries(c.policies.map((p) => [p.name, `${p.name}-${o.suffix}`]));
  const policies = c.policies.map((p) => ({
    name: policyNames[p.name]!,
    spec: {
      ...p.spec,
      namespaceSelector: {
        ...p.spec.namespaceSelector,
        matchExpressions: [
          ...(p.spec.namespaceSelector.matchExpressions ?? []),
          { key: o.isolation.key, operator: 'In' as const, values: [o.isolation.value] },
        ],
      },
    },
  }));
  const { kind, metadata, spec } = c.resource;
  return {
    namespace: o.namespace,
    namespaceLabels: {
      ...c.namespaceLabels,
      ...o.labels,
      [o.isolation.key]: o.isolation.value,
      'kubernetes.io/metadata.name': o.namespace,
    },
    policies,
    policyNames,
    manifest: {
      apiVersion: 'gitlab-aws.io/v1alpha1',
      kind,
      metadata: { ...metadata, namespace: o.namespace },
      spec,
    },
  };
}

/** What src/policy/tenancy.ts decides for an instance of a case. */
export function evaluate(c: TenancyCase, i: Instance): Verdict {
  const common = {
    namespaceLabels: i.namespaceLabels,
    policies: i.policies,
    defaultRegion: c.defaultRegion,
  };
  const subject = {
    namespace: i.namespace,
    name: i.manifest.metadata.name,
    annotations: i.manifest.metadata.annotations,
  };
  return c.resource.kind === 'GitLabAwsFederation'
    ? evaluateFederation({ ...common, resource: { ...subject, spec: c.resource.spec } })
    : evaluateConnection({ ...common, resource: { ...subject, spec: c.resource.spec } });
}
