// DESIGN.md §2.5, in the operator: a namespace with edit rights tries each way
// it could get more than its GitLabAwsPolicy grants, with no admission policy
// in front (it can be off, or the policy can tighten after the fact). Each
// attempt must end Stalled with a message naming the policy and the field, and
// AWS (moto) and GitLab (the fake) must be left exactly as they were.
import { CreatePolicyCommand, CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { getCondition } from '../../src/runtime/reconcile/conditions.ts';
import { startCodeConnectionsFake } from '../../testbed/fakes/codeconnections/index.ts';
import { runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import { connectionApi, POLL_ARGS, waitForConnection } from '../connection/helpers.ts';
import {
  apply,
  CLI,
  federation,
  iamClient,
  perTestSetUp,
  providerArnOf,
  providerExists,
  roleExists,
  startGitLab,
  waitForCondition,
} from '../federation/env.ts';
import { kubectl } from '../harness/kube.ts';
import { applyPolicy, type PolicySpec } from './policies.ts';

const setUp = perTestSetUp();
const iam = iamClient();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

/** A boundary policy in moto, as a platform team would have made it. */
async function boundary(name: string): Promise<string> {
  const out = await iam.send(
    new CreatePolicyCommand({
      PolicyName: name,
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }],
      }),
    }),
  );
  return out.Policy!.Arn!;
}

async function policy(name: string, ns: string, spec: PolicySpec): Promise<void> {
  cleanups.push(await applyPolicy(name, ns, spec));
}

/** Stalled with this reason, every word of `parts` in the message; returns the message. */
async function expectStalled(ns: string, name: string, reason: string, parts: string[]): Promise<string> {
  const f = await waitForCondition(ns, name, 'Stalled', 'True', { reason, timeoutMs: 30_000 });
  const ready = getCondition(f.status?.conditions as never, 'Ready');
  expect(ready?.status).toBe('False');
  expect(ready?.reason).toBe(reason);
  for (const part of parts) expect(ready?.message).toContain(part);
  expect(getCondition(f.status?.conditions as never, 'PolicyAllowed')).toMatchObject({
    status: 'False',
    reason,
  });
  // Nothing was written: the federation never got as far as recording a role.
  expect(f.status?.roleArn).toBeUndefined();
  expect(f.status?.identityProviderArn).toBeUndefined();
  return ready!.message;
}

describe('a namespace that no policy selects', () => {
  it('gets nothing: Stalled NoPolicy, no provider, no role, no variable', async () => {
    const { ns, spec, gitlab, providerArn } = await setUp('ten-nopolicy', { tenancy: 'restricted' });
    await apply(
      ns,
      federation(
        'deploy',
        spec({ role: { name: `np-${ns}` }, ciVariables: { target: { project: 'payments/api' } } }),
      ),
    );
    const message = await expectStalled(ns, 'deploy', 'NoPolicy', [
      `no GitLabAwsPolicy selects namespace ${ns}`,
      '--tenancy open',
    ]);
    expect(message).toContain('docs/tenancy.md');
    expect(await roleExists(`np-${ns}`)).toBe(false);
    expect(await providerExists(providerArn)).toBe(false);
    expect(gitlab.fake.state.variables({ project: 'payments/api' })).toEqual([]);
    // The operator did not even ask GitLab for the issuer.
    expect(gitlab.fake.requests).toEqual([]);
  });
});

describe('inside its policy', () => {
  it('is Ready, with the policy’s path prefix and permissions boundary where the spec is silent', async () => {
    const { ns, spec, gitlab } = await setUp('ten-ok', { tenancy: 'restricted' });
    const boundaryArn = await boundary(`boundary-${ns}`);
    // Paths compare without case, as GitLab's do.
    await policy(`ok-${ns}`, ns, {
      gitlab: { urls: [gitlab.fake.url], paths: ['Payments'] },
      role: { pathPrefix: `/gitlab/${ns}/`, permissionsBoundaryArn: boundaryArn, namePrefix: `${ns}-` },
    });
    await apply(ns, federation('deploy', spec({ ciVariables: { target: { project: 'payments/api' } } })));
    const f = await waitForCondition(ns, 'deploy', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(getCondition(f.status?.conditions as never, 'PolicyAllowed')).toMatchObject({
      status: 'True',
      reason: 'Allowed',
      message: `allowed by GitLabAwsPolicy ok-${ns}`,
    });
    const role = await iam.send(new GetRoleCommand({ RoleName: `${ns}-deploy` }));
    expect(role.Role!.Path).toBe(`/gitlab/${ns}/`);
    expect(role.Role!.PermissionsBoundary?.PermissionsBoundaryArn).toBe(boundaryArn);
    expect(gitlab.fake.state.variables({ project: 'payments/api' }).map((v) => v.key)).toContain('ROLE_ARN');
  });
});

describe('each way a namespace could get more than its policy grants is stopped', () => {
  it('refuses every attack, naming the policy and the field, and writes nothing to AWS or GitLab', async () => {
    const { ns, spec, gitlab, providerArn } = await setUp('ten-attack', { tenancy: 'restricted' });
    const attacker = await startGitLab();
    cleanups.push(() => attacker.close());
    const boundaryArn = await boundary(`boundary-${ns}`);
    const other = await boundary(`other-${ns}`);
    // A role the operator does not own: the operator's own IRSA role, or a break-glass role.
    const breakGlass = `break-glass-${ns}`;
    const breakGlassTrust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
      ],
    });
    await iam.send(
      new CreateRoleCommand({ RoleName: breakGlass, AssumeRolePolicyDocument: breakGlassTrust }),
    );
    const name = `ten-${ns}`;
    await policy(name, ns, {
      gitlab: { urls: [gitlab.fake.url], paths: ['payments'] },
      aws: { regions: ['eu-west-1'] },
      role: {
        pathPrefix: `/gitlab/${ns}/`,
        permissionsBoundaryArn: boundaryArn,
        managedPolicyArns: ['arn:aws:iam::123456789012:policy/ecr-*'],
        grants: ['ecrPush', 'ecsDeploy'],
        passRoleArns: [`arn:aws:iam::123456789012:role/gitlab/${ns}/*`],
      },
    });
    const gitlabWith = (url: string) => ({
      url,
      tokenSecretRef: { name: 'gitlab-token', key: 'token' },
    });
    const attacks: {
      name: string;
      spec: Record<string, unknown>;
      annotations?: Record<string, string>;
      field: string;
      words: string[];
    }[] = [
      {
        name: 'admin',
        spec: spec({ role: { managedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'] } }),
        field: 'spec.role.managedPolicyArns[0]',
        words: ['AdministratorAccess', 'arn:aws:iam::123456789012:policy/ecr-*'],
      },
      {
        name: 'inline',
        spec: spec({
          role: {
            inlinePolicies: {
              all: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
            },
          },
        }),
        field: 'spec.role.inlinePolicies',
        words: ['does not allow inline policies'],
      },
      {
        name: 'cdk',
        spec: spec({
          role: { grants: [{ cloudFormationDeploy: { stackNames: ['payments-web'], cdk: true } }] },
        }),
        field: 'spec.role.grants[0]',
        words: ['cloudFormationDeploy is not one of the allowed grant presets [ecrPush, ecsDeploy]'],
      },
      {
        name: 'passrole',
        spec: spec({
          role: {
            grants: [
              {
                ecsDeploy: {
                  cluster: 'prod',
                  services: ['api'],
                  taskRoleArns: ['arn:aws:iam::123456789012:role/OrganizationAccountAccessRole'],
                },
              },
            ],
          },
        }),
        field: 'spec.role.grants[0].ecsDeploy.taskRoleArns[0]',
        words: ['OrganizationAccountAccessRole', 'matches none of the roles the policy lets a grant pass'],
      },
      {
        name: 'boundary',
        spec: spec({ role: { permissionsBoundaryArn: other } }),
        field: 'spec.role.permissionsBoundaryArn',
        words: [boundaryArn, other],
      },
      {
        name: 'path',
        spec: spec({ role: { path: '/' } }),
        field: 'spec.role.path',
        words: [`/gitlab/${ns}/`],
      },
      {
        name: 'project',
        spec: spec({ access: [{ project: 'payroll/api', refs: ['main'] }] }),
        field: 'spec.access[0].project',
        words: ['payroll/api', '[payments]'],
      },
      {
        name: 'target',
        spec: spec({ ciVariables: { target: { project: 'payroll/api' } } }),
        field: 'spec.ciVariables.target.project',
        words: ['payroll/api'],
      },
      {
        name: 'issuer',
        spec: spec({ gitlab: gitlabWith(attacker.fake.url) }),
        field: 'spec.gitlab.url',
        words: [attacker.fake.url, gitlab.fake.url],
      },
      {
        name: 'account',
        spec: spec({ aws: { assumeRoleArn: 'arn:aws:iam::210987654321:role/admin' } }),
        field: 'spec.aws.assumeRoleArn',
        words: ['may not be set'],
      },
      {
        name: 'region',
        spec: spec({ aws: { region: 'us-east-1' } }),
        field: 'spec.aws.region',
        words: ['us-east-1', '[eu-west-1]'],
      },
      {
        name: 'keys',
        spec: spec({
          method: 'IAMUserAccessKeys',
          access: undefined,
          iamUser: {},
          ciVariables: { target: { project: 'payments/api' } },
        }),
        field: 'spec.method',
        words: ['IAMUserAccessKeys', '[OIDC]'],
      },
      {
        name: 'adopt',
        spec: spec({ role: { name: breakGlass, path: `/gitlab/${ns}/` } }),
        annotations: { 'gitlab-aws.io/adopt': 'true' },
        field: 'metadata.annotations[gitlab-aws.io/adopt]',
        words: ['not allowed'],
      },
    ];
    for (const a of attacks) await apply(ns, federation(a.name, a.spec, a.annotations));
    for (const a of attacks) {
      const message = await expectStalled(ns, a.name, 'PolicyViolation', [
        `GitLabAwsPolicy ${name}`,
        a.field,
        ...a.words,
      ]);
      expect(message, a.name).toContain('nothing is written');
      expect(await roleExists(`${ns}-${a.name}`), a.name).toBe(false);
    }
    // AWS: no provider for either instance, the break-glass role's trust untouched and untagged.
    expect(await providerExists(providerArn)).toBe(false);
    expect(await providerExists(providerArnOf(attacker.fake.url))).toBe(false);
    const kept = await iam.send(new GetRoleCommand({ RoleName: breakGlass }));
    expect(JSON.parse(decodeURIComponent(kept.Role!.AssumeRolePolicyDocument!))).toEqual(
      JSON.parse(breakGlassTrust),
    );
    expect(kept.Role!.Tags ?? []).toEqual([]);
    // GitLab: nobody asked either instance anything, and no variable was written.
    expect(attacker.fake.requests).toEqual([]);
    expect(gitlab.fake.requests).toEqual([]);
    expect(gitlab.fake.state.variables({ project: 'payments/api' })).toEqual([]);
  }, 120_000);
});

describe('addresses', () => {
  it('a link-local URL is refused even when a policy names it, and the message tells nothing of what answered', async () => {
    const { ns, spec } = await setUp('ten-linklocal', { tenancy: 'restricted' });
    const metadata = 'https://169.254.169.254';
    await policy(`ll-${ns}`, ns, { gitlab: { urls: [metadata], paths: ['payments'] } });
    await apply(ns, federation('imds', spec({ gitlab: { url: metadata } })));
    const f = await waitForCondition(ns, 'imds', 'Stalled', 'True', { reason: 'AddressNotAllowed' });
    const ready = getCondition(f.status?.conditions as never, 'Ready');
    expect(ready?.message).toContain('link-local');
    expect(ready?.message).not.toMatch(/ECONN|ETIMEDOUT|EHOSTUNREACH|timed out|refused the connection/i);
    expect(f.status?.identityProviderArn).toBeUndefined();
    expect(await roleExists(`${ns}-imds`)).toBe(false);
  });
});

describe('a policy is read again when it or the namespace changes', () => {
  it('a tightened policy stops a Ready federation within seconds, and a spec change then writes nothing', async () => {
    const { ns, spec, gitlab } = await setUp('ten-tighten', { tenancy: 'restricted' });
    const name = `tighten-${ns}`;
    const allowed = { gitlab: { urls: [gitlab.fake.url], paths: ['payments'] } };
    await policy(name, ns, allowed);
    const roleName = `${ns}-deploy`;
    await apply(ns, federation('deploy', spec({ role: { name: roleName } })));
    await waitForCondition(ns, 'deploy', 'Ready', 'True', { timeoutMs: 60_000 });
    const trustBefore = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!
      .AssumeRolePolicyDocument;

    await policy(name, ns, { gitlab: { urls: [gitlab.fake.url], paths: ['payments/web'] } });
    await expectStalledAfterReady(ns, 'deploy', ['spec.access[0].project payments/api', '[payments/web]']);
    await apply(
      ns,
      federation(
        'deploy',
        spec({
          role: { name: roleName },
          access: [{ project: 'payments/api', refs: ['main', 'release/*'] }],
        }),
      ),
    );
    await waitForCondition(ns, 'deploy', 'Stalled', 'True', { reason: 'PolicyViolation' });
    const trustAfter = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!
      .AssumeRolePolicyDocument;
    expect(trustAfter).toBe(trustBefore);

    // The platform team widens the policy again: the pending change goes through.
    await policy(name, ns, allowed);
    const ready = await waitForCondition(ns, 'deploy', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(ready.status?.subjects).toHaveLength(2);
  }, 120_000);

  it('a namespace label decides which policy applies', async () => {
    const { ns, spec, gitlab } = await setUp('ten-labels', { tenancy: 'restricted' });
    const team = `t${ns.split('-').pop()}`;
    cleanups.push(
      await applyPolicy(`labels-${ns}`, ns, {
        namespaceSelector: {
          matchExpressions: [{ key: 'gitlab-aws.io/team', operator: 'In', values: [team] }],
        },
        gitlab: { urls: [gitlab.fake.url], paths: ['payments'] },
      }),
    );
    await apply(ns, federation('deploy', spec()));
    await waitForCondition(ns, 'deploy', 'Stalled', 'True', { reason: 'NoPolicy' });
    expect((await kubectl(['label', 'namespace', ns, `gitlab-aws.io/team=${team}`])).code).toBe(0);
    await waitForCondition(ns, 'deploy', 'Ready', 'True', { timeoutMs: 60_000 });
  }, 120_000);
});

async function expectStalledAfterReady(ns: string, name: string, parts: string[]): Promise<void> {
  const f = await waitForCondition(ns, name, 'Stalled', 'True', {
    reason: 'PolicyViolation',
    timeoutMs: 15_000,
  });
  const ready = getCondition(f.status?.conditions as never, 'Ready');
  expect(ready?.status).toBe('False');
  for (const part of parts) expect(ready?.message).toContain(part);
}

describe('GitLabConnections', () => {
  it('are refused where the policy says connections: false, and nothing is created in AWS', async () => {
    const { ns } = await setUp('ten-conn', { tenancy: 'restricted' });
    const fake = await startCodeConnectionsFake();
    cleanups.push(() => fake.close());
    const op = startOperatorProcess(
      CLI,
      [...runArgs(ns, inject('kubeconfig'), 'restricted'), ...POLL_ARGS, '--cluster-id', 'itest'],
      {
        AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS: fake.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    );
    cleanups.push(async () => void (await op.stop('SIGKILL')));
    const name = `conn-${ns}`;
    await policy(name, ns, { gitlab: { urls: ['https://gitlab.com'], paths: ['*'] }, connections: false });
    await connectionApi().create(ns, 'pipelines', {});
    const stalled = await waitForConnection(
      ns,
      'pipelines',
      'Stalled PolicyViolation',
      (o) =>
        o.status?.conditions?.some(
          (c) => c.type === 'Stalled' && c.status === 'True' && c.reason === 'PolicyViolation',
        ) ?? false,
    );
    expect(getCondition(stalled.status?.conditions as never, 'Ready')?.message).toContain(
      `GitLabAwsPolicy ${name}: GitLabConnections are not allowed in this namespace`,
    );
    expect(fake.connections()).toEqual([]);

    await policy(name, ns, { gitlab: { urls: ['https://gitlab.com'], paths: ['*'] } });
    await waitForConnection(ns, 'pipelines', 'PENDING', (o) => o.status?.connectionStatus === 'PENDING');
    expect(fake.connections()).toHaveLength(1);
  }, 120_000);
});
