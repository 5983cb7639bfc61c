// src/policy/tenancy.ts, the one place that says what a GitLabAwsPolicy
// allows: selectors as Kubernetes evaluates them, paths as GitLab compares
// them, globs as IAM matches them, and the rules for several policies.
import { describe, expect, it } from 'vitest';
import type { GitLabAwsFederationSpec, GitLabAwsPolicySpec } from '../../src/api/v1alpha1/index.ts';
import {
  evaluateConnection,
  evaluateFederation,
  globMatches,
  type NamedPolicy,
  pathAllowed,
  privateAddressAllowed,
  selects,
} from '../../src/policy/tenancy.ts';

const URL = 'https://gitlab.example.com';
const policy = (name: string, spec: Partial<GitLabAwsPolicySpec> = {}): NamedPolicy => ({
  name,
  spec: { namespaceSelector: {}, gitlab: { urls: [URL], paths: ['payments'] }, ...spec },
});
const fed = (spec: Partial<GitLabAwsFederationSpec> = {}, annotations?: Record<string, string>) => ({
  namespace: 'team-payments',
  name: 'deploy',
  annotations,
  spec: { gitlab: { url: URL }, access: [{ project: 'payments/api', refs: ['main'] }], ...spec },
});
const judge = (
  policies: NamedPolicy[],
  spec: Partial<GitLabAwsFederationSpec> = {},
  annotations?: Record<string, string>,
  defaultRegion?: string,
) =>
  evaluateFederation({
    resource: fed(spec, annotations),
    namespaceLabels: { team: 'payments' },
    policies,
    defaultRegion,
  });
const fields = (v: ReturnType<typeof judge>) =>
  v.allowed ? [] : v.violations.map((x) => `${x.policy} ${x.field}`);

describe('selects (Kubernetes LabelSelector)', () => {
  const labels = { team: 'payments', tier: 'prod' };
  it('{} selects every namespace; matchLabels must all match', () => {
    expect(selects({}, {})).toBe(true);
    expect(selects({ matchLabels: { team: 'payments' } }, labels)).toBe(true);
    expect(selects({ matchLabels: { team: 'payments', tier: 'dev' } }, labels)).toBe(false);
  });
  it('In, NotIn, Exists and DoesNotExist', () => {
    expect(
      selects({ matchExpressions: [{ key: 'team', operator: 'In', values: ['a', 'payments'] }] }, labels),
    ).toBe(true);
    expect(selects({ matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] }, labels)).toBe(
      false,
    );
    expect(selects({ matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['a'] }] }, labels)).toBe(
      true,
    );
    expect(
      selects({ matchExpressions: [{ key: 'missing', operator: 'NotIn', values: ['a'] }] }, labels),
    ).toBe(true);
    expect(selects({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels)).toBe(true);
    expect(selects({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels)).toBe(false);
  });
});

describe('paths and globs', () => {
  it('a path covers itself and what is below it, without case, never a sibling with the same prefix', () => {
    expect(pathAllowed(['payments'], 'payments')).toBe(true);
    expect(pathAllowed(['payments'], 'Payments/API')).toBe(true);
    expect(pathAllowed(['Payments/libs'], 'payments/libs/crypto')).toBe(true);
    expect(pathAllowed(['payments'], 'payments-evil/api')).toBe(false);
    expect(pathAllowed(['payments/api'], 'payments')).toBe(false);
    expect(pathAllowed(['*'], 'anything/at/all')).toBe(true);
  });
  it('globs: * any characters, ? one, everything else literal', () => {
    expect(
      globMatches(
        'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistry*',
        'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
      ),
    ).toBe(true);
    expect(
      globMatches(
        'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistry*',
        'arn:aws:iam::aws:policy/AdministratorAccess',
      ),
    ).toBe(false);
    expect(globMatches('arn:aws:iam::123456789012:policy/a.b', 'arn:aws:iam::123456789012:policy/aXb')).toBe(
      false,
    );
    expect(
      globMatches('arn:aws:iam::123456789012:policy/team-?', 'arn:aws:iam::123456789012:policy/team-1'),
    ).toBe(true);
  });
});

describe('evaluateFederation', () => {
  it('a namespace no policy selects gets NoPolicy', () => {
    const v = judge([policy('other', { namespaceSelector: { matchLabels: { team: 'other' } } })]);
    expect(v).toMatchObject({ allowed: false, reason: 'NoPolicy' });
  });

  it('inside the policy: allowed, with the prefix and boundary as defaults', () => {
    const v = judge([
      policy('p', {
        role: { pathPrefix: '/gitlab/payments/', permissionsBoundaryArn: 'arn:aws:iam::1:policy/b' },
      }),
    ]);
    expect(v).toEqual({
      allowed: true,
      policies: ['p'],
      defaults: { rolePath: '/gitlab/payments/', permissionsBoundaryArn: 'arn:aws:iam::1:policy/b' },
    });
  });

  it('every limit, with the field it names', () => {
    const p = policy('p', {
      aws: { regions: ['eu-west-1'] },
      role: {
        pathPrefix: '/gitlab/',
        namePrefix: 'pay-',
        permissionsBoundaryArn: 'arn:aws:iam::1:policy/b',
        maxSessionDuration: 3600,
      },
    });
    expect(fields(judge([p], { gitlab: { url: 'https://evil.example' } }))).toContain('p spec.gitlab.url');
    expect(fields(judge([p], { aws: { assumeRoleArn: 'arn:aws:iam::210987654321:role/x' } }))).toContain(
      'p spec.aws.assumeRoleArn',
    );
    expect(fields(judge([p], { aws: { region: 'us-east-1' } }))).toContain('p spec.aws.region');
    // Without spec.aws.region the operator's default region is what is judged.
    expect(fields(judge([p], {}, undefined, 'us-east-1'))).toContain('p spec.aws.region');
    expect(fields(judge([p], {}, undefined, 'eu-west-1'))).not.toContain('p spec.aws.region');
    expect(fields(judge([p], { method: 'IAMUserAccessKeys' }))).toContain('p spec.method');
    expect(fields(judge([p], { access: [{ group: 'payroll', refs: ['main'] }] }))).toContain(
      'p spec.access[0].group',
    );
    expect(fields(judge([p], { ciVariables: { target: { group: 'payroll' } } }))).toContain(
      'p spec.ciVariables.target.group',
    );
    expect(fields(judge([p], { role: { path: '/' } }))).toContain('p spec.role.path');
    expect(fields(judge([p]))).toContain('p spec.role.name'); // the default name, team-payments-deploy
    expect(fields(judge([p], { role: { permissionsBoundaryArn: 'arn:aws:iam::1:policy/other' } }))).toContain(
      'p spec.role.permissionsBoundaryArn',
    );
    expect(
      fields(judge([p], { role: { managedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'] } })),
    ).toContain('p spec.role.managedPolicyArns[0]');
    expect(fields(judge([p], { role: { inlinePolicies: { x: {} } } }))).toContain(
      'p spec.role.inlinePolicies',
    );
    expect(fields(judge([p], { role: { maxSessionDuration: 7200 } }))).toContain(
      'p spec.role.maxSessionDuration',
    );
    expect(fields(judge([p], {}, { 'gitlab-aws.io/adopt': 'true' }))).toContain(
      'p metadata.annotations[gitlab-aws.io/adopt]',
    );
  });

  it('what a policy allows is allowed', () => {
    const p = policy('p', {
      aws: { assumeRoleArns: ['arn:aws:iam::210987654321:role/x'] },
      role: {
        managedPolicyArns: ['arn:aws:iam::aws:policy/AmazonEC2ContainerRegistry*'],
        inlinePolicies: true,
      },
      methods: ['OIDC', 'IAMUserAccessKeys'],
      adoption: true,
    });
    const v = judge(
      [p],
      {
        aws: { assumeRoleArn: 'arn:aws:iam::210987654321:role/x' },
        role: {
          managedPolicyArns: ['arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser'],
          inlinePolicies: { x: {} },
        },
      },
      { 'gitlab-aws.io/adopt': 'true' },
    );
    expect(v.allowed).toBe(true);
    expect(judge([p], { method: 'IAMUserAccessKeys', iamUser: {} }).allowed).toBe(true);
  });

  it('IAMUserAccessKeys is judged on spec.iamUser', () => {
    const p = policy('p', { methods: ['IAMUserAccessKeys'], role: { pathPrefix: '/keys/' } });
    expect(fields(judge([p], { method: 'IAMUserAccessKeys', iamUser: { path: '/' } }))).toEqual([
      'p spec.iamUser.path',
    ]);
  });

  it('several policies: every one must hold, and their defaults must agree', () => {
    const a = policy('a', { role: { pathPrefix: '/gitlab/' } });
    const b = policy('b', { role: { pathPrefix: '/gitlab/payments/' } });
    const both = judge([a, b]);
    expect(both).toMatchObject({ allowed: true, defaults: { rolePath: '/gitlab/payments/' } });
    expect(fields(judge([a, b], { role: { path: '/gitlab/other/' } }))).toEqual(['b spec.role.path']);
    const c = policy('c', { role: { pathPrefix: '/other/' } });
    // Prefixes that cannot both hold: the longer is the default, the other is violated.
    expect(fields(judge([a, c]))).toEqual(['c spec.role.path']);
    const b1 = policy('b1', { role: { permissionsBoundaryArn: 'arn:aws:iam::1:policy/one' } });
    const b2 = policy('b2', { role: { permissionsBoundaryArn: 'arn:aws:iam::1:policy/two' } });
    expect(fields(judge([b1, b2]))).toContain('b2 spec.role.permissionsBoundaryArn');
    // A policy that selects another namespace does not count.
    const elsewhere = policy('elsewhere', {
      namespaceSelector: { matchLabels: { team: 'x' } },
      gitlab: { urls: [URL], paths: ['x'] },
    });
    expect(judge([a, elsewhere]).allowed).toBe(true);
  });

  it('the message names the policy and the field, shows at most three, and says how to go on', () => {
    const v = judge([policy('p')], {
      gitlab: { url: 'https://evil.example' },
      access: [
        { project: 'x/a', refs: ['main'] },
        { project: 'x/b', refs: ['main'] },
        { project: 'x/c', refs: ['main'] },
      ],
    });
    expect(v.allowed).toBe(false);
    if (v.allowed) return;
    expect(v.message).toMatch(/^GitLabAwsPolicy p: spec\.gitlab\.url https:\/\/evil\.example is not one of/);
    expect(v.message).toContain('; and 1 more');
    expect(v.message).toContain('ask the platform team to change the policy');
  });
});

describe('evaluateConnection', () => {
  it('connections: false refuses; the instance, account and region limits apply', () => {
    const conn = (spec: object) => ({
      resource: { namespace: 'p', name: 'c', spec },
      namespaceLabels: {},
      defaultRegion: 'eu-west-1',
    });
    expect(evaluateConnection({ ...conn({ gitlab: { url: URL } }), policies: [policy('p')] }).allowed).toBe(
      true,
    );
    expect(
      evaluateConnection({
        ...conn({ gitlab: { url: URL } }),
        policies: [policy('p', { connections: false })],
      }),
    ).toMatchObject({ allowed: false, reason: 'PolicyViolation' });
    // A connection without gitlab.url is for https://gitlab.com.
    expect(evaluateConnection({ ...conn({}), policies: [policy('p')] }).allowed).toBe(false);
  });
});

describe('privateAddressAllowed', () => {
  it('only for a URL a selecting policy names', () => {
    expect(privateAddressAllowed([policy('p')], {}, URL)).toBe(true);
    expect(privateAddressAllowed([policy('p')], {}, 'https://gitlab.internal')).toBe(false);
    expect(
      privateAddressAllowed([policy('p', { namespaceSelector: { matchLabels: { a: 'b' } } })], {}, URL),
    ).toBe(false);
  });
});
