// Graceful degradation: one broken corner does not stop the operator's work on
// the rest. (a) No permission to read Secrets in one of two namespaces;
// (b) a revoked GitLab token for one of two GitLab instances; (c) fairness: a
// federation whose GitLab always answers 500 retries with backoff and does not
// starve ten others, with --max-concurrent-reconciles 1.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { getCondition } from '../../src/runtime/reconcile/conditions.ts';
import { type OperatorProcess, runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import { removeOnExit } from '../../testbed/processes.ts';
import {
  apply,
  awsEnv,
  CLI,
  createTokenSecret,
  federation,
  federationSpec,
  type GitLabInstance,
  startGitLab,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';
import { kubeconfigWithToken } from '../helm/helm.ts';

const ops: OperatorProcess[] = [];
const gitlabs: GitLabInstance[] = [];
afterAll(async () => {
  await Promise.all(ops.map((op) => op.stop('SIGKILL')));
  await Promise.all(gitlabs.map((g) => g.close()));
});

async function gitlabInstance(): Promise<GitLabInstance> {
  const g = await startGitLab();
  gitlabs.push(g);
  return g;
}

/** The operator as its own process, trusting every GitLab fake given, watching `namespaces`. */
function operator(
  namespaces: string[],
  trusted: GitLabInstance[],
  { kubeconfig = inject('kubeconfig'), args = [] as string[] } = {},
): OperatorProcess {
  const caFile = join(tmpdir(), `gao-hygiene-ca-${process.pid}-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(caFile, trusted.map((g) => g.fake.tls!.caPem).join('\n'));
  removeOnExit(caFile);
  const op = startOperatorProcess(
    CLI,
    [
      ...runArgs(namespaces.join(','), kubeconfig),
      '--propagation-delay',
      '0s',
      '--cluster-id',
      'degrade',
      '--log-level',
      'debug',
      ...args,
    ],
    { ...awsEnv(), NODE_EXTRA_CA_CERTS: caFile, KUBECONFIG: '' },
  );
  ops.push(op);
  return op;
}

const spec = federationSpec;
const withVariables = (g: GitLabInstance, scope: string) =>
  spec(g, { ciVariables: { target: { project: 'payments/api' }, environmentScope: scope } });
const logs = (op: OperatorProcess) => `${op.lines.map((l) => JSON.stringify(l)).join('\n')}\n${op.stderr()}`;

// The chart's rules (deploy/helm/gitlab-aws-operator/templates/_helpers.tpl, gao.watchRules), without Secrets.
const WATCH_RULES = [
  {
    apiGroups: ['gitlab-aws.io'],
    resources: ['gitlabawsfederations', 'gitlabconnections'],
    verbs: ['get', 'list', 'watch', 'patch'],
  },
  {
    apiGroups: ['gitlab-aws.io'],
    resources: ['gitlabawsfederations/status', 'gitlabconnections/status'],
    verbs: ['patch'],
  },
  {
    apiGroups: ['gitlab-aws.io'],
    resources: ['gitlabawsfederations/finalizers', 'gitlabconnections/finalizers'],
    verbs: ['update'],
  },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
];
const SECRET_RULES = [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }];

async function role(ns: string, name: string, rules: object[], sa: { name: string; namespace: string }) {
  await apply(ns, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name }, rules });
  await apply(ns, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', ...sa }],
  });
}

describe('graceful degradation', () => {
  it('keeps reconciling a namespace whose Secrets it may read when another one forbids it', async () => {
    const g = await gitlabInstance();
    const allowed = await createNamespace('degr-allowed');
    const forbidden = await createNamespace('degr-forbidden');
    const sa = { name: 'gao-operator', namespace: allowed };
    await apply(allowed, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa.name } });
    for (const ns of [allowed, forbidden]) {
      await role(ns, 'gao-watch', WATCH_RULES, sa);
      await createTokenSecret(ns, g.token);
    }
    await role(allowed, 'gao-secrets', SECRET_RULES, sa);
    const token = await kubectl(['create', 'token', sa.name, '-n', allowed, '--duration=1h']);
    expect(token.stderr).toBe('');
    const kubeconfig = kubeconfigWithToken(token.stdout.trim(), allowed);
    // The RBAC is as intended.
    const can = async (ns: string) =>
      (await kubectl(['auth', 'can-i', 'get', 'secrets', '-n', ns], { kubeconfig })).stdout.trim();
    expect([await can(allowed), await can(forbidden)]).toEqual(['yes', 'no']);

    const op = operator([allowed, forbidden], [g], { kubeconfig });
    await apply(forbidden, federation('blocked', withVariables(g, forbidden)));
    await apply(allowed, federation('fine', withVariables(g, allowed)));

    const blocked = await waitForCondition(forbidden, 'blocked', 'Ready', 'False', {
      reason: 'SecretForbidden',
    });
    expect(getCondition(blocked.status?.conditions as never, 'Ready')?.message).toBe(
      `the operator may not read Secret ${forbidden}/gitlab-token (spec.gitlab.tokenSecretRef): grant it get on secrets in ${forbidden}`,
    );
    await waitForCondition(allowed, 'fine', 'Ready', 'True');
    // Still working after the refusals: a second federation in the allowed namespace.
    await apply(allowed, federation('fine-2', withVariables(g, `${allowed}-2`)));
    await waitForCondition(allowed, 'fine-2', 'Ready', 'True');
    expect(op.child.exitCode, logs(op)).toBeNull();

    // Granting the permission heals the blocked one without a restart (within its backoff).
    await role(forbidden, 'gao-secrets', SECRET_RULES, sa);
    await waitForCondition(forbidden, 'blocked', 'Ready', 'True', { timeoutMs: 60_000 });
  }, 120_000);

  it('keeps one GitLab instance’s federations Ready when the token of another is revoked', async () => {
    const a = await gitlabInstance();
    const b = await gitlabInstance();
    const nsA = await createNamespace('degr-gla');
    const nsB = await createNamespace('degr-glb');
    await createTokenSecret(nsA, a.token);
    await createTokenSecret(nsB, b.token);
    const op = operator([nsA, nsB], [a, b]);
    await apply(nsA, federation('a1', withVariables(a, 'a1')));
    await apply(nsB, federation('b1', withVariables(b, 'b1')));
    await waitForCondition(nsA, 'a1', 'Ready', 'True');
    await waitForCondition(nsB, 'b1', 'Ready', 'True');

    b.fake.state.revokeToken(b.token);
    // b1 notices at its next reconcile (a spec change here); a new b2 fails at once.
    await apply(nsB, federation('b1', withVariables(b, 'b1-changed')));
    await apply(nsB, federation('b2', withVariables(b, 'b2')));
    await waitForCondition(nsB, 'b1', 'Stalled', 'True', { reason: 'GitLabUnauthorized' });
    await waitForCondition(nsB, 'b2', 'Stalled', 'True', { reason: 'GitLabUnauthorized' });

    // Instance A goes on: a change to a1 and a new a2 both reach Ready.
    await apply(nsA, federation('a1', withVariables(a, 'a1-changed')));
    await apply(nsA, federation('a2', withVariables(a, 'a2')));
    await waitForCondition(nsA, 'a1', 'Ready', 'True');
    await waitForCondition(nsA, 'a2', 'Ready', 'True');
    expect(
      a.fake.state
        .variables({ project: 'payments/api' })
        .map((v) => v.environment_scope)
        .sort(),
    ).toEqual(expect.arrayContaining(['a1-changed', 'a2']));
    expect(op.child.exitCode, logs(op)).toBeNull();
  }, 120_000);

  it('does not let a federation whose GitLab always fails starve ten others (max 1 concurrent reconcile)', async () => {
    const hot = await gitlabInstance();
    const good = await gitlabInstance();
    hot.fake.faults.add({ status: 500, body: { message: '500 Internal Server Error' } });
    const ns = await createNamespace('degr-fair');
    await createTokenSecret(ns, good.token);
    await createTokenSecret(ns, hot.token, 'hot-token');
    const op = operator([ns], [hot, good], { args: ['--max-concurrent-reconciles', '1'] });
    const hotKey = `${ns}/hot`;
    const hotReconciles = () =>
      op.lines.filter(
        (l) => l.key === hotKey && (l.msg === 'reconciled' || String(l.msg).startsWith('reconcile ')),
      );

    await apply(
      ns,
      federation('hot', {
        ...withVariables(hot, 'hot'),
        gitlab: { url: hot.fake.url, tokenSecretRef: { name: 'hot-token', key: 'token' } },
      }),
    );
    // Let it fail a few times first, so it is mid-backoff when the others arrive.
    await waitForLog(op, () => hotReconciles().length >= 2);
    const started = performance.now();
    const names = Array.from({ length: 10 }, (_, i) => `fed-${i}`);
    await Promise.all(names.map((n) => apply(ns, federation(n, withVariables(good, n)))));
    await Promise.all(names.map((n) => waitForCondition(ns, n, 'Ready', 'True', { timeoutMs: 30_000 })));
    const allReadyMs = Math.round(performance.now() - started);
    console.log(
      `[fairness] 10 federations Ready in ${allReadyMs} ms beside a hot-looping one (max 1 concurrent)`,
    );
    // Bound: 10 creates at one at a time, each a few IAM and GitLab calls, plus one backoff wait of the hot one.
    expect(allReadyMs).toBeLessThan(20_000);

    // The hot one is retrying, not stalled and not spinning: the gaps between its reconciles grow.
    await new Promise((r) => setTimeout(r, 8_000));
    const attempts = hotReconciles();
    const at = attempts.map((l) => Date.parse(String(l.time)));
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    const elapsedS = (at.at(-1)! - at[0]!) / 1000;
    console.log(
      `[fairness] hot federation (${attempts[0]?.reason}): ${attempts.length} reconciles over ${elapsedS.toFixed(1)} s, gaps ${gaps.join(', ')} ms, each ${attempts.map((l) => l.ms).join(', ')} ms`,
    );
    expect(attempts.every((l) => l.msg === 'reconcile failed; will retry')).toBe(true);
    // Exponential backoff from 1 s: the n-th gap is at least 2^n s (less a little for timer
    // granularity); a hot loop would show hundreds of reconciles.
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(attempts.length).toBeLessThanOrEqual(8);
    gaps.forEach((gap, i) => {
      expect(gap, `gap ${i}`).toBeGreaterThanOrEqual(0.9 * 1000 * 2 ** i);
    });
    expect(hot.fake.requests.length).toBeGreaterThan(0);
    expect(op.child.exitCode, logs(op)).toBeNull();
  }, 120_000);
});

async function waitForLog(op: OperatorProcess, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  await op.waitForLog(() => done(), timeoutMs);
}
