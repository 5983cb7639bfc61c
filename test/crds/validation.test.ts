// The CRDs as a user meets them: manifests applied with kubectl to a real
// kube-apiserver, and the exact messages it prints when it refuses one.
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createNamespace, type KubectlResult, kubectl } from '../harness/kube.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** JSON merge patch (RFC 7386): objects merge, arrays are replaced, null removes. */
function merge(base: Json, patch: Json): Json {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: JsonObject =
    typeof base === 'object' && base !== null && !Array.isArray(base) ? { ...base } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = merge(out[key] ?? null, value);
  }
  return out;
}

const federation = (name: string, spec: JsonObject): JsonObject => ({
  apiVersion: 'gitlab-aws.io/v1alpha1',
  kind: 'GitLabAwsFederation',
  metadata: { name },
  spec,
});
const connection = (name: string, spec: JsonObject): JsonObject => ({
  apiVersion: 'gitlab-aws.io/v1alpha1',
  kind: 'GitLabConnection',
  metadata: { name },
  spec,
});

// A gitlab.com project federation: the smallest useful OIDC spec.
const FEDERATION: JsonObject = {
  gitlab: { tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
  access: [{ project: 'payments/api', refs: ['main', 'release/*'] }],
  ciVariables: { target: { project: 'payments/api' } },
};

const KEYS: JsonObject = {
  method: 'IAMUserAccessKeys',
  gitlab: { url: 'https://gitlab.internal.example', tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
  iamUser: {},
  ciVariables: { target: { group: 'payments' } },
};

const VPC: JsonObject = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
  securityGroupIds: ['sg-01234567'],
};

const SELF_MANAGED: JsonObject = {
  gitlab: { url: 'https://gitlab.example.com' },
  host: { name: 'gitlab-example', vpcConfiguration: VPC },
};

let ns: string;

beforeAll(async () => {
  ns = await createNamespace('crds');
});

const apply = (obj: JsonObject): Promise<KubectlResult> =>
  kubectl(['apply', '-n', ns, '-f', '-'], { stdin: stringify(obj) });

async function applyOk(obj: JsonObject): Promise<void> {
  const result = await apply(obj);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
}

async function getJson(kind: string, name: string): Promise<JsonObject> {
  const result = await kubectl(['get', kind, name, '-n', ns, '-o', 'json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as JsonObject;
}

const pathPattern = "'^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*(/[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*)*$'";
// A project path has its namespace: at least two segments.
const projectPattern = "'^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*(/[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*)+$'";
const urlPattern = "'^https://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~%+-]+)*$'";
const refPattern = `'^[^\\s\\x00-\\x1f\\x7f~^:\\[\\\\$"]+$'`;

const project = (path: string) => ({ access: [{ project: path, refs: ['main'] }] });
const projectError = (path: string) =>
  `spec.access[0].project: Invalid value: ${JSON.stringify(path)}: spec.access[0].project in body should match ${projectPattern}`;

interface InvalidCase {
  name: string;
  kind: 'federation' | 'connection';
  /** Merge patch on the kind's valid base spec. */
  patch: JsonObject;
  /** Overrides metadata.name (default: the case index). */
  objectName?: string;
  error: string;
}

const EXACTLY_ONE = 'exactly one of project or group must be set';

const INVALID: InvalidCase[] = [
  // access entries
  {
    name: 'access entry with both project and group',
    kind: 'federation',
    patch: { access: [{ project: 'payments/api', group: 'payments', refs: ['main'] }] },
    error: `spec.access[0]: Invalid value: ${EXACTLY_ONE}`,
  },
  {
    name: 'access entry with neither project nor group',
    kind: 'federation',
    patch: { access: [{ refs: ['main'] }] },
    error: `spec.access[0]: Invalid value: ${EXACTLY_ONE}`,
  },
  {
    name: 'access entry without refs',
    kind: 'federation',
    patch: { access: [{ project: 'payments/api' }] },
    error: 'spec.access[0].refs: Required value',
  },
  {
    name: 'access entry with empty refs',
    kind: 'federation',
    patch: { access: [{ project: 'payments/api', refs: [] }] },
    error: 'spec.access[0].refs: Invalid value: 0: spec.access[0].refs in body should have at least 1 items',
  },
  {
    name: 'ref with a colon',
    kind: 'federation',
    patch: { access: [{ project: 'payments/api', refs: ['main:ref_type'] }] },
    error: `spec.access[0].refs[0]: Invalid value: "main:ref_type": spec.access[0].refs[0] in body should match ${refPattern}`,
  },
  {
    name: 'unknown refType',
    kind: 'federation',
    patch: { access: [{ project: 'payments/api', refType: 'branches', refs: ['main'] }] },
    error: 'spec.access[0].refType: Unsupported value: "branches": supported values: "branch", "tag", "any"',
  },
  {
    name: 'project path with *',
    kind: 'federation',
    patch: project('payments/*'),
    error: projectError('payments/*'),
  },
  {
    name: 'project path with ?',
    kind: 'federation',
    patch: project('payments/ap?'),
    error: projectError('payments/ap?'),
  },
  {
    name: 'project path with :',
    kind: 'federation',
    patch: project('payments/api:ref_type:tag'),
    error: projectError('payments/api:ref_type:tag'),
  },
  {
    name: 'project path with "',
    kind: 'federation',
    patch: project('payments/"api'),
    error: projectError('payments/"api'),
  },
  {
    name: 'project path with a space',
    kind: 'federation',
    patch: project('payments/my api'),
    error: projectError('payments/my api'),
  },
  {
    name: 'project path with ..',
    kind: 'federation',
    patch: project('payments/../x'),
    error: projectError('payments/../x'),
  },
  {
    name: 'project path with leading /',
    kind: 'federation',
    patch: project('/payments/api'),
    error: projectError('/payments/api'),
  },
  {
    name: 'project path with trailing /',
    kind: 'federation',
    patch: project('payments/'),
    error: projectError('payments/'),
  },
  {
    name: 'project without its namespace',
    kind: 'federation',
    patch: project('app'),
    error: projectError('app'),
  },
  {
    name: 'ciVariables.target.project without its namespace',
    kind: 'federation',
    patch: { ciVariables: { target: { project: 'app' } } },
    error: `spec.ciVariables.target.project: Invalid value: "app": spec.ciVariables.target.project in body should match ${projectPattern}`,
  },
  {
    name: 'audience with characters an IAM tag value cannot hold',
    kind: 'federation',
    patch: { audience: 'https://gitlab.example.com/?aud=1&x' },
    error: `spec.audience: Invalid value: "https://gitlab.example.com/?aud=1&x": spec.audience in body should match '^[A-Za-z0-9 _.:/=+@-]+$'`,
  },
  {
    name: 'requireProtectedRefs without a token to read them',
    kind: 'federation',
    patch: { requireProtectedRefs: true, gitlab: { tokenSecretRef: null }, ciVariables: null },
    error:
      'spec.requireProtectedRefs: Invalid value: requireProtectedRefs needs gitlab.tokenSecretRef: the operator reads the protected branches and tags with this GitLab token',
  },
  {
    name: 'group path with *',
    kind: 'federation',
    patch: { access: [{ group: 'payments*', refs: ['main'] }] },
    error: `spec.access[0].group: Invalid value: "payments*": spec.access[0].group in body should match ${pathPattern}`,
  },
  // method
  {
    name: 'OIDC without access',
    kind: 'federation',
    patch: { access: null },
    error:
      'spec.access: Invalid value: access is required when method is OIDC: list who may assume the role (project or group, and refs)',
  },
  {
    name: 'OIDC with empty access',
    kind: 'federation',
    patch: { access: [] },
    error: 'spec.access: Invalid value: 0: spec.access in body should have at least 1 items',
  },
  {
    name: 'OIDC with iamUser',
    kind: 'federation',
    patch: { iamUser: {} },
    error:
      'spec: Invalid value: iamUser and rotation are only for method IAMUserAccessKeys: remove them, or set method: IAMUserAccessKeys',
  },
  {
    name: 'unknown method',
    kind: 'federation',
    patch: { method: 'AccessKeys' },
    error: 'spec.method: Unsupported value: "AccessKeys": supported values: "OIDC", "IAMUserAccessKeys"',
  },
  {
    name: 'IAMUserAccessKeys without iamUser',
    kind: 'federation',
    patch: { ...KEYS, access: null, iamUser: null },
    error:
      'spec.iamUser: Invalid value: iamUser is required when method is IAMUserAccessKeys (iamUser: {} uses the defaults)',
  },
  {
    name: 'IAMUserAccessKeys with role and access',
    kind: 'federation',
    patch: { ...KEYS, role: {} },
    error:
      'spec: Invalid value: role, access, identityProvider and audience are only for method OIDC: remove them when method is IAMUserAccessKeys',
  },
  {
    name: 'IAMUserAccessKeys without ciVariables',
    kind: 'federation',
    patch: { ...KEYS, access: null, ciVariables: null },
    error:
      'spec.ciVariables: Invalid value: ciVariables is required when method is IAMUserAccessKeys: it names the project or group that receives the key',
  },
  // role
  {
    name: 'role name longer than 64',
    kind: 'federation',
    patch: { role: { name: 'r'.repeat(65) } },
    error: 'spec.role.name: Too long: may not be more than 64 bytes',
  },
  {
    name: 'role name with a character IAM refuses',
    kind: 'federation',
    patch: { role: { name: 'gitlab/deploy' } },
    error: `spec.role.name: Invalid value: "gitlab/deploy": spec.role.name in body should match '^[A-Za-z0-9_+=,.@-]+$'`,
  },
  {
    name: 'role path without slashes',
    kind: 'federation',
    patch: { role: { path: 'gitlab' } },
    error: `spec.role.path: Invalid value: "gitlab": spec.role.path in body should match '^/([A-Za-z0-9_+=,.@-]+/)*$'`,
  },
  {
    name: 'maxSessionDuration below 3600',
    kind: 'federation',
    patch: { role: { maxSessionDuration: 900 } },
    error:
      'spec.role.maxSessionDuration: Invalid value: 900: spec.role.maxSessionDuration in body should be greater than or equal to 3600',
  },
  {
    name: 'maxSessionDuration above 43200',
    kind: 'federation',
    patch: { role: { maxSessionDuration: 86400 } },
    error:
      'spec.role.maxSessionDuration: Invalid value: 86400: spec.role.maxSessionDuration in body should be less than or equal to 43200',
  },
  {
    name: 'managed policy that is not a policy ARN',
    kind: 'federation',
    patch: { role: { managedPolicyArns: ['AmazonS3ReadOnlyAccess'] } },
    error:
      'spec.role.managedPolicyArns[0]: Invalid value: "AmazonS3ReadOnlyAccess": spec.role.managedPolicyArns[0] in body should match',
  },
  {
    name: 'inline policy name with a space',
    kind: 'federation',
    patch: { role: { inlinePolicies: { 'my policy': { Version: '2012-10-17', Statement: [] } } } },
    error:
      'spec.role.inlinePolicies: Invalid value: inline policy names must be 1-128 characters of letters, digits and _+=,.@-',
  },
  {
    name: "inline policy named like a grant preset's own",
    kind: 'federation',
    patch: {
      role: { inlinePolicies: { 'gitlab-aws-grant-ecrPush': { Version: '2012-10-17', Statement: [] } } },
    },
    error:
      'spec.role.inlinePolicies: Invalid value: inline policy names starting with gitlab-aws-grant- are the grant presets',
  },
  {
    name: 'grant with two presets in one item',
    kind: 'federation',
    patch: {
      role: {
        grants: [{ ecrPush: { repositories: ['payments/api'] }, s3Deploy: { buckets: ['payments-site'] } }],
      },
    },
    error: 'spec.role.grants[0]: Invalid value: each grant must set exactly one preset',
  },
  {
    name: 'grant preset twice',
    kind: 'federation',
    patch: {
      role: {
        grants: [
          { ecrPush: { repositories: ['payments/api'] } },
          { ecrPush: { repositories: ['payments/web'] } },
        ],
      },
    },
    error: 'spec.role.grants: Invalid value: each preset may appear once',
  },
  {
    name: 'grant: attack: every repository (a bare *)',
    kind: 'federation',
    patch: { role: { grants: [{ ecrPush: { repositories: ['*'] } }] } },
    error: 'spec.role.grants[0].ecrPush.repositories[0]: Invalid value: "*"',
  },
  {
    name: 'grant: attack: every secret of the account',
    kind: 'federation',
    patch: {
      role: {
        grants: [{ secretsRead: { secretArns: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:*'] } }],
      },
    },
    error: 'spec.role.grants[0].secretsRead.secretArns[0]: Invalid value:',
  },
  {
    name: 'grant: attack: a secret ARN with a wildcard account',
    kind: 'federation',
    patch: {
      role: {
        grants: [{ secretsRead: { secretArns: ['arn:aws:secretsmanager:eu-west-1:*:secret:payments/db'] } }],
      },
    },
    error: 'spec.role.grants[0].secretsRead.secretArns[0]: Invalid value:',
  },
  {
    name: 'grant: attack: a bucket glob',
    kind: 'federation',
    patch: { role: { grants: [{ s3Deploy: { buckets: ['payments-*'] } }] } },
    error: 'spec.role.grants[0].s3Deploy.buckets[0]: Invalid value: "payments-*"',
  },
  {
    name: 'grant: cdkQualifier without cdk',
    kind: 'federation',
    patch: {
      role: { grants: [{ cloudFormationDeploy: { stackNames: ['payments-web'], cdkQualifier: 'abc' } }] },
    },
    error: 'spec.role.grants[0].cloudFormationDeploy: Invalid value: cdkQualifier needs cdk: true',
  },
  {
    name: 'tag key in the aws: namespace',
    kind: 'federation',
    patch: { role: { tags: { 'aws:team': 'payments' } } },
    error:
      'spec.role.tags: Invalid value: tag keys must be 1-128 characters and must not start with aws: (reserved by AWS) or gitlab-aws.io/ (set by the operator)',
  },
  {
    name: 'thumbprint that is not SHA-1 hex',
    kind: 'federation',
    patch: { identityProvider: { thumbprints: ['abc'] } },
    error: `spec.identityProvider.thumbprints[0]: Invalid value: "abc": spec.identityProvider.thumbprints[0] in body should match '^[0-9A-Fa-f]{40}$'`,
  },
  // gitlab, aws, secrets
  {
    name: 'gitlab.url over http',
    kind: 'federation',
    patch: { gitlab: { url: 'http://gitlab.example.com' } },
    error: `spec.gitlab.url: Invalid value: "http://gitlab.example.com": spec.gitlab.url in body should match ${urlPattern}`,
  },
  {
    name: 'gitlab.url with a trailing slash',
    kind: 'federation',
    patch: { gitlab: { url: 'https://gitlab.example.com/' } },
    error: `spec.gitlab.url: Invalid value: "https://gitlab.example.com/": spec.gitlab.url in body should match ${urlPattern}`,
  },
  {
    name: 'gitlab.url with a query',
    kind: 'federation',
    patch: { gitlab: { url: 'https://gitlab.example.com?x=1' } },
    error: `spec.gitlab.url: Invalid value: "https://gitlab.example.com?x=1": spec.gitlab.url in body should match ${urlPattern}`,
  },
  {
    name: 'tokenSecretRef with a namespace',
    kind: 'federation',
    patch: { gitlab: { tokenSecretRef: { namespace: 'other' } } },
    error: 'strict decoding error: unknown field "spec.gitlab.tokenSecretRef.namespace"',
  },
  {
    name: 'tokenSecretRef without key',
    kind: 'federation',
    patch: { gitlab: { tokenSecretRef: { key: null } } },
    error: 'spec.gitlab.tokenSecretRef.key: Required value',
  },
  {
    name: 'ciVariables without tokenSecretRef',
    kind: 'federation',
    patch: { gitlab: null },
    error:
      'spec.gitlab.tokenSecretRef: Invalid value: tokenSecretRef is required when ciVariables is set: the operator writes the variables with this GitLab token',
  },
  {
    name: 'assumeRoleArn that is not a role ARN',
    kind: 'federation',
    patch: { aws: { assumeRoleArn: 'arn:aws:iam::123456789012:user/operator' } },
    error:
      'spec.aws.assumeRoleArn: Invalid value: "arn:aws:iam::123456789012:user/operator": spec.aws.assumeRoleArn in body should match',
  },
  {
    name: 'region that is not a region',
    kind: 'federation',
    patch: { aws: { region: 'Ireland' } },
    error: `spec.aws.region: Invalid value: "Ireland": spec.aws.region in body should match '^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$'`,
  },
  // ciVariables
  {
    name: 'ciVariables.target with both project and group',
    kind: 'federation',
    patch: { ciVariables: { target: { group: 'payments' } } },
    error: `spec.ciVariables.target: Invalid value: ${EXACTLY_ONE}`,
  },
  {
    name: 'ciVariables.target with neither',
    kind: 'federation',
    patch: { ciVariables: { target: { project: null } } },
    error: `spec.ciVariables.target: Invalid value: ${EXACTLY_ONE}`,
  },
  {
    name: 'environmentScope with a quote',
    kind: 'federation',
    patch: { ciVariables: { environmentScope: 'prod"' } },
    error: `spec.ciVariables.environmentScope: Invalid value: "prod\\"": spec.ciVariables.environmentScope in body should match '^[A-Za-z0-9 _/{}$.*-]+$'`,
  },
  {
    name: 'variable name with a dash',
    kind: 'federation',
    patch: { ciVariables: { roleArnVariable: 'ROLE-ARN' } },
    error: `spec.ciVariables.roleArnVariable: Invalid value: "ROLE-ARN": spec.ciVariables.roleArnVariable in body should match '^[A-Za-z0-9_]+$'`,
  },
  {
    name: 'variable name longer than 255',
    kind: 'federation',
    patch: { ciVariables: { roleArnVariable: 'V'.repeat(256) } },
    error: 'spec.ciVariables.roleArnVariable: Too long: may not be more than 255 bytes',
  },
  {
    name: 'role ARN and region written to the same variable',
    kind: 'federation',
    patch: { ciVariables: { regionVariable: 'ROLE_ARN' } },
    error:
      'spec.ciVariables: Invalid value: roleArnVariable and regionVariable must name different variables',
  },
  {
    name: 'removeWhenReady without audit',
    kind: 'federation',
    patch: { legacyCredentials: { audit: false, removeWhenReady: true } },
    error:
      'spec.legacyCredentials: Invalid value: removeWhenReady needs audit: true, because only the keys the audit finds are removed',
  },
  {
    name: 'rotation interval without a unit',
    kind: 'federation',
    patch: { ...KEYS, access: null, rotation: { interval: '30 days' } },
    error: `spec.rotation.interval: Invalid value: "30 days": spec.rotation.interval in body should match '^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+$'`,
  },
  {
    name: 'unknown deletionPolicy',
    kind: 'federation',
    patch: { deletionPolicy: 'Retain' },
    error: 'spec.deletionPolicy: Unsupported value: "Retain": supported values: "Delete", "Orphan"',
  },
  // connections
  {
    name: 'connectionName longer than 32',
    kind: 'connection',
    patch: { connectionName: 'c'.repeat(33) },
    error: 'spec.connectionName: Too long: may not be more than 32 bytes',
  },
  {
    name: 'connectionName with a space',
    kind: 'connection',
    patch: { connectionName: 'gitlab main' },
    error: `spec.connectionName: Invalid value: "gitlab main": spec.connectionName in body should match '^[A-Za-z0-9][A-Za-z0-9._-]*$'`,
  },
  {
    name: 'metadata.name longer than 32 and no connectionName',
    kind: 'connection',
    patch: {},
    objectName: 'a-connection-name-longer-than-32-characters',
    error:
      'spec.connectionName: Invalid value: metadata.name is longer than 32 characters, the limit for a connection name: set spec.connectionName (1-32 characters)',
  },
  {
    name: 'host for gitlab.com',
    kind: 'connection',
    patch: { host: { name: 'gitlab-com' } },
    error:
      'spec.host: Invalid value: host is only for self-managed GitLab or GitLab Dedicated: remove it, or set gitlab.url to your instance',
  },
  {
    name: 'VPC configuration without subnets',
    kind: 'connection',
    patch: { ...SELF_MANAGED, host: { vpcConfiguration: { ...VPC, subnetIds: [] } } },
    error:
      'spec.host.vpcConfiguration.subnetIds: Invalid value: 0: spec.host.vpcConfiguration.subnetIds in body should have at least 1 items',
  },
  {
    name: 'VPC ID in the wrong format',
    kind: 'connection',
    patch: { ...SELF_MANAGED, host: { vpcConfiguration: { ...VPC, vpcId: 'vpc-0abc' } } },
    error: `spec.host.vpcConfiguration.vpcId: Invalid value: "vpc-0abc": spec.host.vpcConfiguration.vpcId in body should match '^vpc-[A-Za-z0-9_]{8}([A-Za-z0-9_]{9})?$'`,
  },
];

interface UpdateCase {
  name: string;
  kind: 'federation' | 'connection';
  before: JsonObject;
  after: JsonObject;
  error: string;
}

const RECREATE_CONNECTION =
  'connectionName is immutable (it defaults to metadata.name): delete and recreate the GitLabConnection to use another name';
const RECREATE_HOST =
  'host.name is immutable (it defaults to the connection name): delete and recreate the GitLabConnection to use another name';
const RECREATE_VPC =
  'host.vpcConfiguration is immutable: delete and recreate the GitLabConnection to change it';

const UPDATES: UpdateCase[] = [
  {
    name: 'connectionName changed',
    kind: 'connection',
    before: { connectionName: 'gitlab-a' },
    after: { connectionName: 'gitlab-b' },
    error: `spec.connectionName: Invalid value: ${RECREATE_CONNECTION}`,
  },
  {
    name: 'connectionName set later to something other than metadata.name',
    kind: 'connection',
    before: {},
    after: { connectionName: 'gitlab-b' },
    error: `spec.connectionName: Invalid value: ${RECREATE_CONNECTION}`,
  },
  {
    name: 'connectionName removed (falls back to another name)',
    kind: 'connection',
    before: { connectionName: 'gitlab-a' },
    after: { connectionName: null },
    error: `spec.connectionName: Invalid value: ${RECREATE_CONNECTION}`,
  },
  {
    name: 'host.name changed',
    kind: 'connection',
    before: SELF_MANAGED,
    after: { host: { name: 'gitlab-other' } },
    error: `spec.host.name: Invalid value: ${RECREATE_HOST}`,
  },
  {
    name: 'host.name removed (falls back to the connection name)',
    kind: 'connection',
    before: SELF_MANAGED,
    after: { host: { name: null } },
    error: `spec.host.name: Invalid value: ${RECREATE_HOST}`,
  },
  {
    name: 'vpcConfiguration changed',
    kind: 'connection',
    before: SELF_MANAGED,
    after: { host: { vpcConfiguration: { subnetIds: ['subnet-0123456789abcdef0'] } } },
    error: `spec.host.vpcConfiguration: Invalid value: ${RECREATE_VPC}`,
  },
  {
    name: 'vpcConfiguration added',
    kind: 'connection',
    before: { gitlab: { url: 'https://gitlab.example.com' } },
    after: { host: { vpcConfiguration: VPC } },
    error: `spec.host.vpcConfiguration: Invalid value: ${RECREATE_VPC}`,
  },
  {
    name: 'vpcConfiguration removed',
    kind: 'connection',
    before: SELF_MANAGED,
    after: { host: { vpcConfiguration: null } },
    error: `spec.host.vpcConfiguration: Invalid value: ${RECREATE_VPC}`,
  },
  {
    name: 'gitlab.com switched to self-managed',
    kind: 'connection',
    before: {},
    after: { gitlab: { url: 'https://gitlab.example.com' } },
    error:
      'spec.gitlab.url: Invalid value: switching between gitlab.com and a self-managed GitLab needs a new connection: delete and recreate the GitLabConnection',
  },
];

const BASES = { federation: FEDERATION, connection: {} } as const;
const build = (kind: 'federation' | 'connection', name: string, spec: JsonObject) =>
  kind === 'federation' ? federation(name, spec) : connection(name, spec);

describe('invalid manifests are refused with a message that says what to do', () => {
  it.each(INVALID.map((c, i) => ({ ...c, index: i })))(
    '$name',
    async ({ kind, patch, objectName, error, index }) => {
      const spec = merge(BASES[kind], patch) as JsonObject;
      const result = await apply(build(kind, objectName ?? `invalid-${index}`, spec));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(error);
    },
  );

  it.each(UPDATES.map((c, i) => ({ ...c, index: i })))(
    'update: $name',
    async ({ kind, before, after, error, index }) => {
      const name = `update-${index}`;
      const first = merge(BASES[kind], before) as JsonObject;
      await applyOk(build(kind, name, first));
      const result = await apply(build(kind, name, merge(first, after) as JsonObject));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(error);
    },
  );
});

describe('valid manifests are accepted', () => {
  it('a gitlab.com project federation, with defaults applied', async () => {
    await applyOk(federation('gitlab-com-project', FEDERATION));
    const { spec } = (await getJson('gitlabawsfederation', 'gitlab-com-project')) as { spec: JsonObject };
    expect(spec).toMatchObject({
      method: 'OIDC',
      deletionPolicy: 'Delete',
      gitlab: { url: 'https://gitlab.com' },
      access: [{ project: 'payments/api', refType: 'branch', refs: ['main', 'release/*'] }],
      ciVariables: {
        environmentScope: '*',
        protected: false,
        roleArnVariable: 'ROLE_ARN',
        regionVariable: 'AWS_DEFAULT_REGION',
      },
      legacyCredentials: { audit: true, removeWhenReady: false },
    });
  });

  it('a group federation with a full role and tags', async () => {
    await applyOk(
      federation(
        'group-with-tags',
        merge(FEDERATION, {
          aws: { region: 'eu-west-1', assumeRoleArn: 'arn:aws:iam::123456789012:role/ops/gitlab-operator' },
          audience: 'https://gitlab.com',
          role: {
            name: 'gitlab-payments-deploy',
            path: '/gitlab/',
            description: 'Deploys payments from GitLab CI',
            maxSessionDuration: 43200,
            permissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/gitlab-boundary',
            managedPolicyArns: ['arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser'],
            inlinePolicies: {
              deploy: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
              },
            },
            tags: { team: 'payments', 'cost-center': '42' },
            grants: [
              { ecrPush: { repositories: ['payments/api', 'payments/workers-*'] } },
              {
                ecsDeploy: {
                  cluster: 'prod',
                  services: ['api', 'worker-*'],
                  taskRoleArns: ['arn:aws:iam::123456789012:role/payments/api-task'],
                },
              },
              {
                secretsRead: {
                  secretArns: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:payments/db-??????'],
                },
              },
              { cloudFormationDeploy: { stackNames: ['payments-*'], cdk: true, cdkQualifier: 'payments' } },
              { s3Deploy: { buckets: ['payments-site', 'payments.example.com'] } },
            ],
          },
          access: [
            { group: 'payments/libs', refType: 'tag', refs: ['v*', 'v?.*'] },
            { project: 'payments/api.v2', refType: 'any', refs: ['*'] },
          ],
          ciVariables: {
            target: { project: null, group: 'payments' },
            environmentScope: 'review/*',
            protected: true,
          },
          deletionPolicy: 'Orphan',
        }) as JsonObject,
      ),
    );
    const { spec } = (await getJson('glaf', 'group-with-tags')) as { spec: JsonObject };
    expect(spec).toMatchObject({
      role: { tags: { team: 'payments' }, inlinePolicies: { deploy: { Statement: [{ Action: 's3:*' }] } } },
    });
  });

  it('a self-managed instance with a private CA', async () => {
    await applyOk(
      federation(
        'self-managed',
        merge(FEDERATION, {
          gitlab: { url: 'https://example.com/gitlab', caSecretRef: { name: 'gitlab-ca' } },
          identityProvider: { thumbprints: ['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'] },
        }) as JsonObject,
      ),
    );
    const { spec } = (await getJson('glaf', 'self-managed')) as { spec: JsonObject };
    expect(spec).toMatchObject({ gitlab: { caSecretRef: { name: 'gitlab-ca', key: 'ca.crt' } } });
  });

  it('IAM user access keys', async () => {
    await applyOk(federation('access-keys', merge(KEYS, { rotation: {} }) as JsonObject));
    const { spec } = (await getJson('glaf', 'access-keys')) as { spec: JsonObject };
    expect(spec).toMatchObject({ method: 'IAMUserAccessKeys', rotation: { interval: '30d' } });
  });

  it('a connection to gitlab.com, with no spec at all', async () => {
    const minimal = connection('gitlab-main', {});
    delete minimal.spec;
    await applyOk(minimal);
    const { spec } = (await getJson('gitlabconnection', 'gitlab-main')) as { spec: JsonObject };
    expect(spec).toEqual({ gitlab: { url: 'https://gitlab.com' }, deletionPolicy: 'Delete' });
  });

  it('a connection through a host with a VPC configuration', async () => {
    await applyOk(
      connection(
        'self-managed',
        merge(SELF_MANAGED, {
          connectionName: 'gitlab-self-managed',
          aws: { region: 'eu-west-1' },
          tags: { team: 'pipelines' },
          host: {
            vpcConfiguration: {
              tlsCertificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
            },
          },
        }) as JsonObject,
      ),
    );
  });

  it('a long metadata.name with a short connectionName', async () => {
    await applyOk(connection('a-connection-name-longer-than-32-characters', { connectionName: 'short' }));
  });

  it('updates that keep the names: spelling out the defaults, changing tags', async () => {
    await applyOk(connection('defaults-spelled-out', SELF_MANAGED));
    await applyOk(
      connection(
        'defaults-spelled-out',
        merge(SELF_MANAGED, {
          connectionName: 'defaults-spelled-out',
          gitlab: { url: 'https://gitlab2.example.com' },
          tags: { team: 'pipelines' },
        }) as JsonObject,
      ),
    );
  });
});

describe('discovery', () => {
  it('kubectl explain shows the field descriptions', async () => {
    // The OpenAPI document is republished a moment after the CRDs are installed.
    let result: KubectlResult | undefined;
    for (let attempt = 0; attempt < 30; attempt++) {
      result = await kubectl(['explain', 'gitlabawsfederation.spec.access']);
      if (result.code === 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    // kubectl wraps descriptions at 80 columns.
    expect(result?.stdout.replace(/\s+/g, ' ')).toContain(
      'Who may assume the role (method OIDC): at least one entry; entries are OR-ed.',
    );
    expect(result?.stdout).toContain('refs\t<[]string> -required-');
  });

  it('the category lists both kinds, and the short names work', async () => {
    await applyOk(federation('listed', FEDERATION));
    await applyOk(connection('listed', {}));
    const all = await kubectl(['get', 'gitlab-aws', '-n', ns, '-o', 'name']);
    expect(all.stdout).toContain('gitlabawsfederation.gitlab-aws.io/listed');
    expect(all.stdout).toContain('gitlabconnection.gitlab-aws.io/listed');
    for (const shortName of ['glaf', 'glconn']) {
      const one = await kubectl(['get', shortName, 'listed', '-n', ns]);
      expect(one.code, one.stderr).toBe(0);
    }
  });

  it('prints the printer columns', async () => {
    const fed = await kubectl(['get', 'glaf', '-n', ns, '-o', 'wide']);
    expect(fed.stdout.split('\n')[0]).toMatch(
      /^NAME\s+READY\s+REASON\s+ROLE\s+NEXT ROTATION\s+AGE\s+METHOD\s+USER\s+MESSAGE$/,
    );
    const conn = await kubectl(['get', 'glconn', '-n', ns]);
    expect(conn.stdout.split('\n')[0]).toMatch(/^NAME\s+READY\s+STATUS\s+CONNECTION\s+AGE$/);
  });
});
