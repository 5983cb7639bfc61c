// helm install, upgrade and uninstall against the testbed's API server. No
// controller-manager runs there, so the Deployment makes no Pods: these tests
// check what helm writes; rbac.test.ts runs the operator with the chart's RBAC.
import { describe, expect, it } from 'vitest';
import { createNamespace, kubectl } from '../harness/kube.ts';
import { CHART, helm, helmOk, parseManifests, valuesFile } from './helm.ts';

async function getJson(args: string[]): Promise<Record<string, unknown> | undefined> {
  const result = await kubectl(['get', ...args, '-o', 'json']);
  return result.code === 0 ? JSON.parse(result.stdout) : undefined;
}

describe('helm install, upgrade and uninstall', () => {
  it('installs into a fresh namespace, upgrades a value and uninstalls everything it made', async () => {
    const ns = await createNamespace('helm-install');
    const release = `gao-${ns.split('-').pop()}`;
    const fullname = `${release}-gitlab-aws-operator`;

    // The admission policy holds this namespace only: the API server is shared
    // with tests that create resources without any GitLabAwsPolicy.
    const installed = await helmOk([
      'install',
      release,
      CHART,
      '--namespace',
      ns,
      '-f',
      valuesFile({
        tenancyAdmission: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
      }),
    ]);
    expect(installed).toContain('STATUS: deployed');
    expect(installed).toContain(`gitlab-aws-operator 0.1.0 is installed in namespace ${ns}`);
    const manifest = parseManifests(await helmOk(['get', 'manifest', release, '--namespace', ns]));
    expect(manifest.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        `ClusterRole/${fullname}`,
        `ClusterRole/${fullname}-tenancy`,
        `ClusterRoleBinding/${fullname}`,
        `ClusterRoleBinding/${fullname}-tenancy`,
        // No clusterId value: get on namespaces/kube-system, for the cluster ID.
        `ClusterRole/${fullname}-cluster-id`,
        `ClusterRoleBinding/${fullname}-cluster-id`,
        // Aggregated into view, edit and admin, for people (habits.test.ts).
        `ClusterRole/${fullname}-view`,
        `ClusterRole/${fullname}-edit`,
        `Deployment/${fullname}`,
        `PodDisruptionBudget/${fullname}`,
        `Role/${fullname}-leader-election`,
        `RoleBinding/${fullname}-leader-election`,
        `Service/${fullname}-metrics`,
        `ServiceAccount/${fullname}`,
        `ValidatingAdmissionPolicy/${fullname}-tenancy`,
        `ValidatingAdmissionPolicyBinding/${fullname}-tenancy`,
      ].sort(),
    );
    const deployment = (await getJson(['deployment', fullname, '-n', ns])) as {
      spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } };
    };
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec.containers[0]!.args).toContain('--log-level=info');
    expect(await getJson(['clusterrole', fullname])).toBeDefined();
    expect(await getJson(['validatingadmissionpolicybinding', `${fullname}-tenancy`])).toBeDefined();
    expect(await getJson(['serviceaccount', fullname, '-n', ns])).toBeDefined();
    // The CRDs were there already (the testbed applied crds/): helm leaves them alone.
    expect(await getJson(['crd', 'gitlabawsfederations.gitlab-aws.io'])).toBeDefined();

    const upgraded = await helmOk([
      'upgrade',
      release,
      CHART,
      '--namespace',
      ns,
      '--reuse-values',
      '-f',
      valuesFile({ logLevel: 'debug', replicaCount: 3 }),
    ]);
    expect(upgraded).toContain('REVISION: 2');
    const after = (await getJson(['deployment', fullname, '-n', ns])) as typeof deployment;
    expect(after.spec.replicas).toBe(3);
    expect(after.spec.template.spec.containers[0]!.args).toContain('--log-level=debug');
    const history = JSON.parse(await helmOk(['history', release, '--namespace', ns, '-o', 'json'])) as {
      revision: number;
      status: string;
    }[];
    expect(history.map((h) => [h.revision, h.status])).toEqual([
      [1, 'superseded'],
      [2, 'deployed'],
    ]);

    expect(await helmOk(['uninstall', release, '--namespace', ns])).toContain(
      `release "${release}" uninstalled`,
    );
    for (const args of [
      ['deployment', fullname, '-n', ns],
      ['serviceaccount', fullname, '-n', ns],
      ['clusterrole', fullname],
      ['clusterrolebinding', fullname],
      ['clusterrole', `${fullname}-cluster-id`],
      ['clusterrolebinding', `${fullname}-cluster-id`],
      ['role', `${fullname}-leader-election`, '-n', ns],
      ['service', `${fullname}-metrics`, '-n', ns],
      ['poddisruptionbudget', fullname, '-n', ns],
      ['validatingadmissionpolicy', `${fullname}-tenancy`],
      ['validatingadmissionpolicybinding', `${fullname}-tenancy`],
    ]) {
      expect(await getJson(args), args.join(' ')).toBeUndefined();
    }
    // helm keeps CRDs on uninstall, so the users' resources survive it.
    expect(await getJson(['crd', 'gitlabconnections.gitlab-aws.io'])).toBeDefined();
    expect((await helm(['status', release, '--namespace', ns])).code).not.toBe(0);
  });
});
