// Faults, restarts and steady state: the operator's calls are counted at its
// own IAM proxy (in front of moto) and at the GitLab fake.
import {
  CreateRoleCommand,
  GetRoleCommand,
  IAMClient,
  ListOpenIDConnectProvidersCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';
import type { OperatorProcess } from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';
import {
  apply,
  checkToken,
  createTokenSecret,
  federation,
  federationSpec,
  type GitLabInstance,
  getFederation,
  REGION,
  startOperator as startFederationOperator,
  startGitLab,
  waitForCondition,
} from './env.ts';

let gitlab: GitLabInstance;
let proxy: MotoIamProxy;
let ns: string;
let op: OperatorProcess;
let iam: IAMClient;

function startOperator(): OperatorProcess {
  return startFederationOperator(ns, gitlab, {
    iamUrl: proxy.url,
    args: ['--propagation-delay', '0s', '--resync-interval', '2s'],
  });
}

beforeAll(async () => {
  gitlab = await startGitLab();
  for (const path of ['team/app', 'team/lib', 'team-evil/app', 'other/app'])
    gitlab.fake.state.addProject(path);
  gitlab.fake.state.addMember({ group: 'team' }, 'deployer', 'owner');
  proxy = await startMotoIamProxy(inject('motoUrl'));
  iam = new IAMClient({
    endpoint: proxy.url,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  ns = await createNamespace('resil');
  await createTokenSecret(ns, gitlab.token);
  op = startOperator();
});
afterAll(async () => {
  await op?.stop('SIGKILL');
  await proxy?.close();
  await gitlab?.close();
});

const spec = (overrides: Record<string, unknown> = {}) => federationSpec(gitlab, overrides);
const isWrite = (action: string) => !/^(iam|sts):(Get|List)/.test(action);
const reconcilesOf = (name: string) =>
  op.lines.filter(
    (l) => l.key === `${ns}/${name}` && (l.msg === 'reconciled' || String(l.msg).startsWith('reconcile ')),
  ).length;

/**
 * Applies a federation whose variables go to payments/api with the scope `name`,
 * and SIGKILLs the operator while GitLab holds its first variable POST (GitLab
 * still creates the variable after the process is gone).
 */
async function killWithVariablePostInFlight(name: string): Promise<void> {
  gitlab.fake.faults.add({ method: 'POST', path: /variables/, delayMs: 2000, times: 1 });
  await apply(
    ns,
    federation(name, spec({ ciVariables: { target: { project: 'payments/api' }, environmentScope: name } })),
  );
  await waitFor('variable write in flight', async () =>
    gitlab.fake.requests.some(
      (r) =>
        r.method === 'POST' &&
        /variables/.test(r.path) &&
        (r.body as { environment_scope?: string } | undefined)?.environment_scope === name,
    )
      ? true
      : undefined,
  );
  op.child.kill('SIGKILL');
  await op.exited;
}

describe('faults, restarts and steady state', () => {
  it('makes no write call in a steady-state resync', async () => {
    await apply(
      ns,
      federation(
        'steady',
        spec({ ciVariables: { target: { project: 'payments/api' }, environmentScope: 'steady' } }),
      ),
    );
    await waitForCondition(ns, 'steady', 'Ready', 'True');
    await waitFor('a resync after Ready', async () => (reconcilesOf('steady') >= 3 ? true : undefined), {
      timeoutMs: 15_000,
    });
    const before = reconcilesOf('steady');
    const [iamMark, gitlabMark] = [proxy.actions.length, gitlab.fake.requests.length];
    await waitFor('two more resyncs', async () => (reconcilesOf('steady') >= before + 2 ? true : undefined), {
      timeoutMs: 15_000,
    });
    const iamCalls = proxy.actions.slice(iamMark);
    const gitlabCalls = gitlab.fake.requests.slice(gitlabMark);
    expect(iamCalls.filter(isWrite)).toEqual([]);
    expect(gitlabCalls.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(iamCalls.length).toBeGreaterThan(0);
  });

  it('makes no write call in a steady-state resync of method IAMUserAccessKeys either', async () => {
    const boundary = 'arn:aws:iam::123456789012:policy/steady-keys-boundary';
    await apply(
      ns,
      federation('steady-keys', {
        gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        aws: { region: REGION },
        method: 'IAMUserAccessKeys',
        iamUser: {
          path: '/gitlab/',
          permissionsBoundaryArn: boundary,
          inlinePolicies: {
            read: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 's3:Get*', Resource: '*' }],
            },
          },
          tags: { team: 'payments' },
        },
        ciVariables: { target: { project: 'payments/api' }, environmentScope: 'steady-keys' },
      }),
    );
    await waitForCondition(ns, 'steady-keys', 'Ready', 'True');
    await waitFor('a resync after Ready', async () => (reconcilesOf('steady-keys') >= 3 ? true : undefined), {
      timeoutMs: 15_000,
    });
    const before = reconcilesOf('steady-keys');
    const [iamMark, gitlabMark] = [proxy.actions.length, gitlab.fake.requests.length];
    await waitFor(
      'two more resyncs',
      async () => (reconcilesOf('steady-keys') >= before + 2 ? true : undefined),
      { timeoutMs: 15_000 },
    );
    const iamCalls = proxy.actions.slice(iamMark);
    expect(iamCalls.filter(isWrite)).toEqual([]);
    expect(iamCalls).toContain('iam:ListAccessKeys');
    const gitlabCalls = gitlab.fake.requests.slice(gitlabMark);
    expect(gitlabCalls.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  it('retries GitLab 429 (after Retry-After) and 5xx and IAM throttling with backoff, and ends Ready', async () => {
    gitlab.fake.faults.add({
      method: 'POST',
      path: /variables/,
      status: 429,
      retryAfterSeconds: 1,
      times: 3,
    });
    gitlab.fake.faults.add({ method: 'GET', path: /variables/, status: 503, times: 2 });
    proxy.faults.add({ action: 'iam:CreateRole', type: 'throttle', times: 4 });
    await apply(
      ns,
      federation(
        'faults',
        spec({ ciVariables: { target: { project: 'payments/api' }, environmentScope: 'faults' } }),
      ),
    );
    const ready = await waitForCondition(ns, 'faults', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(ready.status?.roleArn).toBeDefined();
    const posts = gitlab.fake.requests.filter(
      (r) => r.method === 'POST' && /variables/.test(r.path) && r.status === 429,
    );
    expect(posts.length).toBe(3);
    expect(proxy.actions.filter((a) => a === 'iam:CreateRole').length).toBeGreaterThanOrEqual(5);
    expect(op.lines.some((l) => l.key === `${ns}/faults` && l.msg === 'reconcile failed; will retry')).toBe(
      true,
    );
  });

  it('looks again at a stall only each resync, never in a hot loop', async () => {
    await iam.send(
      new CreateRoleCommand({
        RoleName: `${ns}-stuck`,
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
    );
    await apply(ns, federation('stuck', spec()));
    await waitForCondition(ns, 'stuck', 'Stalled', 'True', { reason: 'RoleOwnedElsewhere' });
    // Someone may free the name (delete the role): with --resync-interval 2s (jittered
    // by 10 %), at most three more looks in 5 s, and at least one.
    const after = reconcilesOf('stuck');
    await new Promise((r) => setTimeout(r, 5000));
    expect(reconcilesOf('stuck') - after).toBeGreaterThanOrEqual(1);
    expect(reconcilesOf('stuck') - after).toBeLessThanOrEqual(3);
  });

  it('waits to delete while IAM is down, then cleans up once it is back', async () => {
    await apply(
      ns,
      federation(
        'gone',
        spec({ ciVariables: { target: { project: 'payments/api' }, environmentScope: 'gone' } }),
      ),
    );
    await waitForCondition(ns, 'gone', 'Ready', 'True');
    proxy.faults.add({ type: 'server-error' });
    gitlab.fake.faults.add({ status: 503 });
    await kubectl(['delete', 'glaf', 'gone', '-n', ns, '--wait=false']);
    await new Promise((r) => setTimeout(r, 4000));
    const waiting = await getFederation(ns, 'gone');
    expect(waiting.metadata.finalizers).toEqual(['gitlab-aws.io/cleanup']);
    proxy.faults.clear();
    gitlab.fake.faults.clear();
    await waitFor(
      'federation deleted',
      async () => ((await kubectl(['get', 'glaf', 'gone', '-n', ns])).code !== 0 ? true : undefined),
      { timeoutMs: 60_000 },
    );
    await expect(iam.send(new GetRoleCommand({ RoleName: `${ns}-gone` }))).rejects.toThrow();
    expect(
      gitlab.fake.state.variables({ project: 'payments/api' }).filter((v) => v.environment_scope === 'gone'),
    ).toEqual([]);
  });

  it('converges with no duplicates or orphans after being SIGKILLed mid-reconcile', async () => {
    await killWithVariablePostInFlight('killed');
    op = startOperator();
    const ready = await waitForCondition(ns, 'killed', 'Ready', 'True', { timeoutMs: 60_000 });
    const providers = await iam.send(new ListOpenIDConnectProvidersCommand({}));
    const host = gitlab.fake.url.replace('https://', '');
    expect(providers.OpenIDConnectProviderList?.filter((p) => p.Arn?.endsWith(`/${host}`))).toHaveLength(1);
    const ours = gitlab.fake.state
      .variables({ project: 'payments/api' })
      .filter((v) => v.environment_scope === 'killed');
    expect(ours.map((v) => v.key).sort()).toEqual(['AWS_DEFAULT_REGION', 'ROLE_ARN']);
    expect((await iam.send(new GetRoleCommand({ RoleName: `${ns}-killed` }))).Role?.Arn).toBe(
      ready.status?.roleArn,
    );
  });

  it('removes variables it wrote just before being SIGKILLed when their target changes while it is down', async () => {
    await killWithVariablePostInFlight('moved');
    const inApi = () =>
      gitlab.fake.state.variables({ project: 'payments/api' }).filter((v) => v.environment_scope === 'moved');
    // Both writes land, the held one 2 s after the operator died.
    await waitFor('the variables GitLab created after the operator died', async () =>
      inApi().length === 2 ? true : undefined,
    );
    await kubectl([
      'patch',
      'glaf',
      'moved',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { ciVariables: { target: { project: 'payments/libs/crypto' } } } }),
    ]);
    op = startOperator();
    const ready = await waitForCondition(ns, 'moved', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(ready.status?.observedGeneration).toBe(2);
    expect(inApi()).toEqual([]);
    const inCrypto = gitlab.fake.state
      .variables({ project: 'payments/libs/crypto' })
      .filter((v) => v.environment_scope === 'moved');
    expect(inCrypto.map((v) => v.key).sort()).toEqual(['AWS_DEFAULT_REGION', 'ROLE_ARN']);
  });

  it('acts in another account through spec.aws.assumeRoleArn', async () => {
    const target = await iam.send(
      new CreateRoleCommand({
        RoleName: `${ns}-operator-target`,
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
    );
    const mark = proxy.actions.length;
    await apply(
      ns,
      federation('assumed', spec({ aws: { region: REGION, assumeRoleArn: target.Role!.Arn } })),
    );
    await waitForCondition(ns, 'assumed', 'Ready', 'True');
    const calls = proxy.actions.slice(mark);
    expect(calls[0]).toBe('sts:AssumeRole');
    expect(calls.filter((a) => a === 'sts:AssumeRole')).toHaveLength(1);
    expect(calls).toContain('iam:CreateRole');

    // check-access reaches the role the same way, through the assumed role.
    Object.assign(process.env, { AWS_ENDPOINT_URL_STS: proxy.url, AWS_REGION: REGION });
    const before = proxy.actions.length;
    const token = await gitlab.fake.mintIdToken({
      project: 'payments/api',
      ref: 'main',
      aud: gitlab.fake.url,
    });
    expect((await checkToken(ns, 'assumed', token, proxy.url)).code).toBe(0);
    expect(proxy.actions.slice(before)[0]).toBe('sts:AssumeRole');
  });

  it('check-access: every allowed project and ref is allowed by the live trust policy, nothing else is', async () => {
    await apply(
      ns,
      federation(
        'matrix',
        spec({
          access: [
            { project: 'team/app', refs: ['main', 'release/*'] },
            { group: 'team', refType: 'tag', refs: ['v*'] },
          ],
        }),
      ),
    );
    await waitForCondition(ns, 'matrix', 'Ready', 'True');
    const url = gitlab.fake.url;
    const verdict = async (project: string, ref: string, refType: 'branch' | 'tag', aud = url) =>
      checkToken(ns, 'matrix', await gitlab.fake.mintIdToken({ project, ref, refType, aud }), proxy.url);
    const cases: [string, string, 'branch' | 'tag', string | undefined, number][] = [
      ['team/app', 'main', 'branch', undefined, 0],
      ['team/app', 'release/1.0', 'branch', undefined, 0],
      ['team/app', 'v1.2.3', 'tag', undefined, 0],
      ['team/lib', 'v2', 'tag', undefined, 0],
      ['team/app', 'feature/x', 'branch', undefined, 1], // another branch
      ['other/app', 'main', 'branch', undefined, 1], // another project
      ['team-evil/app', 'v1', 'tag', undefined, 1], // a sibling group sharing the prefix
      ['team/app', 'main', 'tag', undefined, 1], // a tag where a branch is allowed
      ['team/app', 'main', 'branch', 'sts.amazonaws.com', 1], // a wrong audience
    ];
    for (const [project, ref, refType, aud, expected] of cases) {
      const { code, out } = await verdict(project, ref, refType, aud);
      expect(code, `${project} ${refType} ${ref} ${aud ?? ''}: ${out}`).toBe(expected);
    }
  });
});
