// Switching a GitLabAwsFederation between method IAMUserAccessKeys and OIDC
// (docs/migrate-keys-to-oidc.md): what the new method needs is made first, what
// the old one made goes once the federation is Ready, and no condition of the
// old method stays behind. Its own IAM proxy records the order of the calls.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';
import { apply, federation, perTestSetUp, roleExists, userExists, waitForCondition } from './env.ts';

const setUp = perTestSetUp();
const proxies: MotoIamProxy[] = [];
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
});

const BOUNDARY = 'arn:aws:iam::123456789012:policy/gitlab-boundary';
const TARGET = { project: 'payments/api' };

async function start(prefix: string) {
  const proxy = await startMotoIamProxy(inject('motoUrl'));
  proxies.push(proxy);
  const env = await setUp(prefix, { iamUrl: proxy.url });
  const common = {
    gitlab: { url: env.gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
    aws: { region: 'eu-west-1' },
    ciVariables: { target: TARGET },
  };
  const keys = {
    ...common,
    method: 'IAMUserAccessKeys',
    iamUser: { path: '/gitlab/', permissionsBoundaryArn: BOUNDARY },
  };
  const oidc = {
    ...common,
    method: 'OIDC',
    role: { path: '/gitlab/', permissionsBoundaryArn: BOUNDARY },
    access: [{ project: 'payments/api', refs: ['main'] }],
  };
  return { ...env, proxy, keys, oidc };
}

const types = (f: { status?: { conditions?: { type: string }[] } }) =>
  (f.status?.conditions ?? []).map((c) => c.type).sort();

describe('switching methods', () => {
  it('IAMUserAccessKeys → OIDC: the role and ROLE_ARN first; once Ready the user, its keys and the key variables go', async () => {
    const { gitlab, ns, proxy, keys, oidc } = await start('tooidc');
    const name = `${ns}-switch`;
    await apply(ns, federation('switch', keys));
    const before = await waitForCondition(ns, 'switch', 'Ready', 'True');
    expect(before.status?.accessKey?.id).toMatch(/^AKIA/);
    // A key pasted by hand in another scope: reported, not removed (removeWhenReady is off).
    gitlab.fake.state.setVariable(TARGET, {
      key: 'AWS_ACCESS_KEY_ID',
      value: 'AKIAIOSFODNN7EXAMPLE',
      environment_scope: 'production',
    });
    const iamMark = proxy.actions.length;
    const gitlabMark = gitlab.fake.requests.length;

    await apply(ns, federation('switch', oidc));
    const after = await waitForCondition(ns, 'switch', 'Ready', 'True');

    expect(after.status?.roleArn).toBe(`arn:aws:iam::123456789012:role/gitlab/${name}`);
    expect(await roleExists(name)).toBe(true);
    expect(await userExists(name)).toBe(false);
    expect(after.status?.userArn).toBeUndefined();
    expect(after.status?.accessKey).toBeUndefined();
    expect(after.status?.retiring).toBeUndefined();
    const vars = gitlab.fake.state.variables(TARGET).map((v) => `${v.key} ${v.environment_scope}`);
    expect(vars.sort()).toEqual(['AWS_ACCESS_KEY_ID production', 'AWS_DEFAULT_REGION *', 'ROLE_ARN *']);
    expect(after.status?.ciVariables?.map((v) => v.key).sort()).toEqual(['AWS_DEFAULT_REGION', 'ROLE_ARN']);
    expect(after.status?.legacyCredentials).toEqual([
      { target: 'project payments/api', key: 'AWS_ACCESS_KEY_ID', environmentScope: 'production' },
    ]);

    // In order: the role before the user goes, ROLE_ARN before the key variables go.
    const actions = proxy.actions.slice(iamMark);
    expect(actions.indexOf('iam:CreateRole')).toBeGreaterThan(-1);
    expect(actions.indexOf('iam:CreateRole')).toBeLessThan(actions.indexOf('iam:DeleteAccessKey'));
    expect(actions.indexOf('iam:DeleteAccessKey')).toBeLessThan(actions.indexOf('iam:DeleteUser'));
    const writes = gitlab.fake.requests
      .slice(gitlabMark)
      .filter((r) => r.method !== 'GET' && r.path.includes('/variables'))
      .map(
        (r) =>
          `${r.method} ${(r.body as { key?: string })?.key ?? decodeURIComponent(r.path.split('/').pop()!)}`,
      );
    expect(writes.indexOf('POST ROLE_ARN')).toBeGreaterThan(-1);
    expect(writes.indexOf('POST ROLE_ARN')).toBeLessThan(writes.indexOf('DELETE AWS_SECRET_ACCESS_KEY'));
    expect(writes.indexOf('POST ROLE_ARN')).toBeLessThan(writes.indexOf('DELETE AWS_ACCESS_KEY_ID'));

    // No condition of the key method stays, and CIVariablesReady names what is there.
    expect(types(after)).not.toContain('UserReady');
    expect(types(after)).not.toContain('AccessKeyRotated');
    expect(after.status?.conditions?.find((c) => c.type === 'CIVariablesReady')?.message).toBe(
      'ROLE_ARN, AWS_DEFAULT_REGION written to project payments/api',
    );
  });

  it('OIDC → IAMUserAccessKeys: the key first; then the role and ROLE_ARN go, and the OIDC conditions', async () => {
    const { gitlab, ns, proxy, keys, oidc } = await start('tokeys');
    const name = `${ns}-back`;
    await apply(ns, federation('back', oidc));
    await waitForCondition(ns, 'back', 'Ready', 'True');
    expect(await roleExists(name)).toBe(true);
    const iamMark = proxy.actions.length;

    await apply(ns, federation('back', keys));
    const after = await waitForCondition(ns, 'back', 'Ready', 'True');

    expect(await roleExists(name)).toBe(false);
    expect(await userExists(name)).toBe(true);
    expect(after.status?.roleArn).toBeUndefined();
    expect(after.status?.userArn).toBe(`arn:aws:iam::123456789012:user/gitlab/${name}`);
    const actions = proxy.actions.slice(iamMark);
    expect(actions.indexOf('iam:CreateAccessKey')).toBeGreaterThan(-1);
    expect(actions.indexOf('iam:CreateAccessKey')).toBeLessThan(actions.indexOf('iam:DeleteRole'));
    const vars = gitlab.fake.state.variables(TARGET).map((v) => v.key);
    expect(vars.sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_DEFAULT_REGION', 'AWS_SECRET_ACCESS_KEY']);
    for (const type of ['IssuerDiscoverable', 'IdentityProviderReady', 'RoleReady', 'RefsProtected']) {
      expect(types(after)).not.toContain(type);
    }
    expect(types(after)).toEqual(
      expect.arrayContaining(['UserReady', 'AccessKeyRotated', 'CIVariablesReady']),
    );
  });
});
