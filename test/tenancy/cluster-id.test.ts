// --cluster-id defaults to the UID of the kube-system namespace (DESIGN.md §2.5),
// so two clusters never mistake each other's resources for their own. The flag
// wins; a cluster whose kube-system the operator may not read stops it at once
// with exit code 2 and a message naming the flag.
import { GetRoleCommand, ListRoleTagsCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type OperatorProcess, runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import {
  apply,
  awsEnv,
  CLI,
  createTokenSecret,
  federation,
  type GitLabInstance,
  iamClient,
  startGitLab,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';
import { kubeconfigWithToken } from '../helm/helm.ts';

const ops: OperatorProcess[] = [];
afterAll(async () => {
  await Promise.all(ops.map((op) => op.stop('SIGKILL')));
});

const start = (
  ns: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  kubeconfig = inject('kubeconfig'),
) => {
  const op = startOperatorProcess(
    CLI,
    [...runArgs(ns, kubeconfig), '--propagation-delay', '0s', '--log-level', 'debug', ...args],
    { ...awsEnv(), CLUSTER_ID: '', ...env },
  );
  ops.push(op);
  return op;
};

async function kubeSystemUid(): Promise<string> {
  const uid = (await kubectl(['get', 'namespace', 'kube-system', '-o', 'jsonpath={.metadata.uid}'])).stdout;
  expect(uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  return uid;
}

describe('the cluster ID', () => {
  let gitlab: GitLabInstance;
  beforeAll(async () => {
    gitlab = await startGitLab();
  });
  afterAll(async () => {
    await gitlab?.close();
  });

  it('is the kube-system namespace’s UID when --cluster-id is not given, in the owner tags', async () => {
    const uid = await kubeSystemUid();
    const ns = await createNamespace('cluster-id');
    await createTokenSecret(ns, gitlab.token);
    const op = start(ns, [], { NODE_EXTRA_CA_CERTS: gitlab.caFile });
    expect((await op.waitForLog((l) => l.msg === 'starting')).clusterId).toBe(uid);
    await apply(
      ns,
      federation('deploy', {
        gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        access: [{ project: 'payments/api', refs: ['main'] }],
      }),
    );
    await waitForCondition(ns, 'deploy', 'Ready', 'True', { timeoutMs: 60_000 });
    const role = await iamClient().send(new GetRoleCommand({ RoleName: `${ns}-deploy` }));
    const tags = await iamClient().send(new ListRoleTagsCommand({ RoleName: role.Role!.RoleName! }));
    expect(tags.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'gitlab-aws.io/owner', Value: `${ns}/deploy` },
        { Key: 'gitlab-aws.io/cluster', Value: uid },
      ]),
    );
    await kubectl(['delete', 'glaf', 'deploy', '-n', ns, '--wait=true', '--timeout=30s']);
    expect(await op.stop()).toBe(0);
  });

  it('is the flag’s (or CLUSTER_ID’s) when given; the flag wins', async () => {
    const ns = await createNamespace('cluster-id-flag');
    const byEnv = start(ns, [], { CLUSTER_ID: 'from-env' });
    expect((await byEnv.waitForLog((l) => l.msg === 'starting')).clusterId).toBe('from-env');
    expect(await byEnv.stop()).toBe(0);
    const byFlag = start(ns, ['--cluster-id', 'prod-eu-1'], { CLUSTER_ID: 'from-env' });
    expect((await byFlag.waitForLog((l) => l.msg === 'starting')).clusterId).toBe('prod-eu-1');
    expect(await byFlag.stop()).toBe(0);
  });

  it('stops with exit code 2 and names the flag when kube-system cannot be read', async () => {
    // A ServiceAccount with no rights at all: the API server refuses GET namespaces/kube-system.
    const ns = await createNamespace('cluster-id-denied');
    expect((await kubectl(['create', 'serviceaccount', 'op', '-n', ns])).code).toBe(0);
    const token = (await kubectl(['create', 'token', 'op', '-n', ns, '--duration=10m'])).stdout.trim();
    const op = start(ns, [], {}, kubeconfigWithToken(token, ns));
    expect(await op.exited).toBe(2);
    expect(op.stderr()).toContain('cannot read the UID of the kube-system namespace, the default cluster ID');
    expect(op.stderr()).toContain('403');
    expect(op.stderr()).toContain('set --cluster-id (CLUSTER_ID) to a name no other cluster uses');
    // It never started.
    expect(op.lines.filter((l) => l.msg === 'starting')).toEqual([]);

    // With the flag, the same account gets past it (and only then meets its missing rights).
    const pinned = start(ns, ['--cluster-id', 'pinned'], {}, kubeconfigWithToken(token, ns));
    expect((await pinned.waitForLog((l) => l.msg === 'starting')).clusterId).toBe('pinned');
    await pinned.stop('SIGKILL');
  });

  it('refuses a cluster ID that IAM tags or STS’s ExternalId cannot carry, before touching the cluster', async () => {
    const op = start(
      'default',
      ['--cluster-id', 'my cluster'],
      { KUBECONFIG: '/nonexistent' },
      '/nonexistent',
    );
    expect(await op.exited).toBe(2);
    expect(op.stderr()).toContain(
      'invalid value for --cluster-id: use at most 128 letters, digits and _+=,.@:/-',
    );
  });
});
