// Sharding safety (DESIGN.md §2.5, "Cluster identity"): two operators of one
// cluster that watch disjoint parts of it (--namespaces a / --namespaces b, or
// --label-selector shard=a / shard=b) share the IAM OIDC provider of a GitLab
// instance. Neither may delete the provider, or remove an audience from its
// client-ID list, while a federation the other one watches still uses it; the
// last one out deletes the provider it created. Each view records the audiences
// it uses on the provider (cleanup.ts, viewTag); these tests check the outcome
// in moto, as a job would meet it.
import { GetOpenIDConnectProviderCommand, ListOpenIDConnectProvidersCommand } from '@aws-sdk/client-iam';
import { afterAll, describe, expect, it } from 'vitest';
import { viewRecord, viewTag } from '../../src/controllers/federation/cleanup.ts';
import type { OperatorProcess } from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import {
  apply,
  createTokenSecret,
  federation,
  type GitLabInstance,
  iamClient,
  startGitLab,
  startOperator,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';

const ops: OperatorProcess[] = [];
const gitlabs: GitLabInstance[] = [];
afterAll(async () => {
  await Promise.all(ops.map((op) => op.stop('SIGKILL')));
  await Promise.all(gitlabs.map((g) => g.close()));
});

/** The provider of the fake's issuer as moto has it, or undefined. */
async function provider(gitlab: GitLabInstance) {
  const host = gitlab.fake.url.replace('https://', '');
  const list = await iamClient().send(new ListOpenIDConnectProvidersCommand({}));
  const arn = list.OpenIDConnectProviderList?.map((p) => p.Arn!).find((a) => a.endsWith(`/${host}`));
  if (!arn) return undefined;
  const p = await iamClient().send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
  return { arn, clientIds: [...(p.ClientIDList ?? [])].sort(), tags: p.Tags ?? [] };
}

async function deleteAndWait(ns: string, names: string[], op: OperatorProcess): Promise<void> {
  const result = await kubectl(['delete', 'glaf', ...names, '-n', ns, '--wait=false']);
  expect(result.code, result.stderr).toBe(0);
  await waitFor(
    `${names.join(', ')} in ${ns} gone`,
    async () =>
      (
        await kubectl(['get', 'glaf', ...names, '-n', ns, '--ignore-not-found', '-o', 'name'])
      ).stdout.trim() === ''
        ? true
        : undefined,
    { timeoutMs: 60_000, diagnostics: () => op.lines.map((l) => JSON.stringify(l)).join('\n') },
  );
}

type Shard = { ns: string; labels: Record<string, string>; op: OperatorProcess };

/** Two operators, each with its own view: by namespace, or by label within one namespace. */
async function startShards(kind: 'namespaces' | 'labels', gitlab: GitLabInstance): Promise<[Shard, Shard]> {
  if (kind === 'namespaces') {
    const a = await createNamespace('shard-a');
    const b = await createNamespace('shard-b');
    for (const ns of [a, b]) await createTokenSecret(ns, gitlab.token);
    // Both with the cluster ID `itest` (federation/env.ts): one cluster, two shards.
    const opA = startOperator(a, gitlab);
    const opB = startOperator(b, gitlab);
    ops.push(opA, opB);
    return [
      { ns: a, labels: {}, op: opA },
      { ns: b, labels: {}, op: opB },
    ];
  }
  const ns = await createNamespace('shard-labels');
  await createTokenSecret(ns, gitlab.token);
  const opA = startOperator(ns, gitlab, { args: ['--label-selector', 'gitlab-aws.io/shard=a'] });
  const opB = startOperator(ns, gitlab, { args: ['--label-selector', 'gitlab-aws.io/shard=b'] });
  ops.push(opA, opB);
  return [
    { ns, labels: { 'gitlab-aws.io/shard': 'a' }, op: opA },
    { ns, labels: { 'gitlab-aws.io/shard': 'b' }, op: opB },
  ];
}

describe.each(['namespaces', 'labels'] as const)('two operators sharded by %s', (kind) => {
  it('never remove the provider or an audience the other shard uses; the last one out deletes the provider', async () => {
    const gitlab = await startGitLab();
    gitlabs.push(gitlab);
    const url = gitlab.fake.url;
    const [a, b] = await startShards(kind, gitlab);
    expect(await provider(gitlab)).toBeUndefined();

    // Each shard: one federation with the default audience (the URL), one with an
    // audience both shards use, and one with an audience only it uses.
    const make = async (shard: Shard, suffix: string) => {
      const manifest = (name: string, audience?: string) => {
        const f = federation(`${name}-${suffix}`, {
          gitlab: { url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
          ...(audience ? { audience } : {}),
          role: { name: `${shard.ns}-${name}-${suffix}`.slice(0, 64) },
          access: [{ project: 'payments/api', refs: ['main'] }],
        });
        return { ...f, metadata: { ...f.metadata, labels: shard.labels } };
      };
      await apply(shard.ns, manifest('url'));
      await apply(shard.ns, manifest('shared', 'sts-shared'));
      await apply(shard.ns, manifest('own', `only-${suffix}`));
      for (const name of ['url', 'shared', 'own'])
        await waitForCondition(shard.ns, `${name}-${suffix}`, 'Ready', 'True', { timeoutMs: 60_000 });
    };
    await make(a, 'a');
    await make(b, 'b');
    const both = await provider(gitlab);
    expect(both?.clientIds).toEqual(['only-a', 'only-b', 'sts-shared', url].sort());

    // Shard a's federations go: its own audience goes with them; the provider, the URL
    // audience and the shared one stay, because shard b's federations use them.
    await deleteAndWait(a.ns, ['url-a', 'shared-a', 'own-a'], a.op);
    const afterA = await provider(gitlab);
    expect(afterA, 'the provider shard b uses was deleted').toBeDefined();
    expect(afterA!.arn).toBe(both!.arn);
    expect(afterA!.clientIds).toEqual(['only-b', 'sts-shared', url].sort());
    // Shard b's federations are untouched and still Ready.
    for (const name of ['url-b', 'shared-b', 'own-b']) {
      const f = await waitForCondition(b.ns, name, 'Ready', 'True');
      expect(f.status?.identityProviderArn).toBe(both!.arn);
    }

    // Shard b's go too: nothing uses the provider any more, and the operator created it.
    await deleteAndWait(b.ns, ['url-b', 'shared-b', 'own-b'], b.op);
    expect(await provider(gitlab)).toBeUndefined();
  }, 180_000);
});

describe('one federation alone at its provider', () => {
  it('changes its audience: the old one goes, the provider and the view’s record of the new one stay', async () => {
    const gitlab = await startGitLab();
    gitlabs.push(gitlab);
    const ns = await createNamespace('shard-alone');
    await createTokenSecret(ns, gitlab.token);
    const op = startOperator(ns, gitlab);
    ops.push(op);
    const spec = (audience: string) => ({
      gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
      audience,
      access: [{ project: 'payments/api', refs: ['main'] }],
    });
    await apply(ns, federation('alone', spec('aud-old')));
    const first = await waitForCondition(ns, 'alone', 'Ready', 'True', { timeoutMs: 60_000 });
    await apply(ns, federation('alone', spec('aud-new')));
    const second = await waitForCondition(ns, 'alone', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(second.status?.retiring).toBeUndefined();
    const p = await provider(gitlab);
    expect(p?.arn).toBe(first.status?.identityProviderArn);
    expect(p?.clientIds).toEqual(['aud-new']);
    // Its view's record names the new audience only: another shard may not remove it.
    const views = p!.tags.filter((t) => t.Key?.startsWith('gitlab-aws.io/view-'));
    expect(views).toEqual([{ Key: viewTag('itest', [ns], undefined), Value: viewRecord(['aud-new']) }]);
    await kubectl(['delete', 'glaf', 'alone', '-n', ns, '--timeout=30s']);
    expect(await provider(gitlab)).toBeUndefined();
  }, 120_000);
});
