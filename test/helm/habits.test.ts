// What users of other operators' charts reach for: security contexts they can
// adjust, extra volumes, ServiceMonitor relabelings, aggregated view/edit
// roles, a proxy, and a refusal to render replicas that would fight.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createNamespace, kubectl } from '../harness/kube.ts';
import {
  CHART,
  find,
  helm,
  helmOk,
  type K8sObject,
  one,
  operatorContainer,
  render,
  valuesFile,
} from './helm.ts';

interface PodSpec {
  securityContext?: Record<string, unknown>;
  volumes: { name: string }[];
  containers: { securityContext?: Record<string, unknown>; volumeMounts: { name: string }[] }[];
}
const podOf = (objects: K8sObject[]) =>
  (one(objects, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;

describe('security contexts', () => {
  it('are restricted by default, and a value is merged over them key by key (null removes one)', async () => {
    const pod = podOf(
      await render({
        podSecurityContext: { fsGroup: 2000 },
        securityContext: { runAsUser: 10001, readOnlyRootFilesystem: null },
      }),
    );
    expect(pod.securityContext).toEqual({
      fsGroup: 2000,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0]!.securityContext).toEqual({
      runAsUser: 10001,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });
});

describe('extra volumes and environment', () => {
  it('adds extraVolumes to the pod and extraVolumeMounts to the container, after /tmp', async () => {
    const objects = await render({
      extraVolumes: [{ name: 'corp-ca', configMap: { name: 'corp-ca' } }],
      extraVolumeMounts: [{ name: 'corp-ca', mountPath: '/etc/corp-ca', readOnly: true }],
      extraEnv: [{ name: 'NODE_EXTRA_CA_CERTS', value: '/etc/corp-ca/ca.crt' }],
    });
    const pod = podOf(objects);
    expect(pod.volumes).toEqual([
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      { name: 'corp-ca', configMap: { name: 'corp-ca' } },
    ]);
    expect(pod.containers[0]!.volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'corp-ca', mountPath: '/etc/corp-ca', readOnly: true },
    ]);
    expect(operatorContainer(objects).env).toContainEqual({
      name: 'NODE_EXTRA_CA_CERTS',
      value: '/etc/corp-ca/ca.crt',
    });
  });

  it('sets HTTPS_PROXY, HTTP_PROXY and NO_PROXY from proxy, and nothing when it is empty', async () => {
    const objects = await render({
      proxy: {
        httpsProxy: 'http://proxy.corp:3128',
        httpProxy: 'http://proxy.corp:3128',
        noProxy: '.corp,10.0.0.1',
      },
    });
    const env = operatorContainer(objects).env;
    expect(env.filter((e) => /PROXY/.test(e.name))).toEqual([
      { name: 'HTTPS_PROXY', value: 'http://proxy.corp:3128' },
      { name: 'HTTP_PROXY', value: 'http://proxy.corp:3128' },
      { name: 'NO_PROXY', value: '.corp,10.0.0.1' },
    ]);
    expect(operatorContainer(await render()).env.filter((e) => /PROXY/.test(e.name))).toEqual([]);
    const bad = await helm([
      'template',
      'gao',
      CHART,
      '-f',
      valuesFile({ proxy: { httpsProxy: 'proxy:3128' } }),
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("- at '/proxy/httpsProxy': 'proxy:3128' does not match pattern");
  });
});

describe('the ServiceMonitor', () => {
  it('goes to the namespace asked for, still selecting the release’s Service, with relabelings', async () => {
    const relabelings = [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' }];
    const metricRelabelings = [{ sourceLabels: ['__name__'], regex: 'go_.*', action: 'drop' }];
    const sm = one(
      await render({
        metrics: {
          serviceMonitor: { enabled: true, namespace: 'monitoring', relabelings, metricRelabelings },
        },
      }),
      'ServiceMonitor',
    );
    expect(sm.metadata.namespace).toBe('monitoring');
    expect(sm.spec).toMatchObject({
      namespaceSelector: { matchNames: ['gao-system'] },
      endpoints: [{ port: 'metrics', relabelings, metricRelabelings }],
    });
    const plain = one(await render({ metrics: { serviceMonitor: { enabled: true } } }), 'ServiceMonitor');
    expect(plain.metadata.namespace).toBe('gao-system');
    expect((plain.spec as { endpoints: object[] }).endpoints[0]).not.toHaveProperty('relabelings');
  });
});

describe('replicas and leader election', () => {
  it('refuses to render two replicas without leader election, saying why', async () => {
    const result = await helm([
      'template',
      'gao',
      CHART,
      '-f',
      valuesFile({ replicaCount: 2, leaderElection: { enabled: false } }),
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'replicaCount is 2 but leaderElection.enabled is false: every replica would reconcile the same resources, and two replicas creating one GitLabConnection at once make two AWS CodeConnections',
    );
    const single = await render({ replicaCount: 1, leaderElection: { enabled: false } });
    expect(operatorContainer(single).args).toContain('--leader-elect=false');
  });
});

describe('aggregated ClusterRoles', () => {
  it('are labelled for view, and for edit and admin, and can be left out', async () => {
    const roles = find(await render(), 'ClusterRole');
    const view = roles.find((r) => r.metadata.name === 'gao-gitlab-aws-operator-view')!;
    const edit = roles.find((r) => r.metadata.name === 'gao-gitlab-aws-operator-edit')!;
    expect(view.metadata.labels).toMatchObject({ 'rbac.authorization.k8s.io/aggregate-to-view': 'true' });
    expect(view.metadata.labels).not.toHaveProperty('rbac.authorization.k8s.io/aggregate-to-edit');
    expect(edit.metadata.labels).toMatchObject({
      'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
      'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
    });
    expect(JSON.stringify(edit.rules)).not.toContain('gitlabawspolicies');
    const without = find(await render({ rbac: { aggregateToDefaultRoles: false } }), 'ClusterRole');
    expect(without.map((r) => r.metadata.name)).not.toContain('gao-gitlab-aws-operator-view');
    expect(without.map((r) => r.metadata.name)).not.toContain('gao-gitlab-aws-operator-edit');
  });

  // The API server's authoriser answers for a user bound to each role in one
  // namespace (the testbed runs no controller-manager, whose aggregation
  // controller would copy these rules into view, edit and admin).
  it('let a viewer read the kinds and an editor write them, and neither write a GitLabAwsPolicy', async () => {
    const release = `agg-${randomBytes(3).toString('hex')}`;
    const ns = await createNamespace('helm-agg');
    const roles = find(await render({}, { release }), 'ClusterRole').filter((r) =>
      /-(view|edit)$/.test(r.metadata.name),
    );
    expect(roles).toHaveLength(2);
    const bindings = (
      [
        ['view', 'viewer'],
        ['edit', 'editor'],
      ] as const
    ).map(([role, user]) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `${release}-${role}`, namespace: ns },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: `${release}-gitlab-aws-operator-${role}`,
      },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `${user}@${release}` }],
    }));
    const applied = await kubectl(['apply', '-f', '-'], {
      stdin: [...roles, ...bindings].map((o) => stringify(o)).join('---\n'),
    });
    expect(applied.stderr).toBe('');
    const can = async (user: string, verb: string, resource: string) =>
      (
        await kubectl(['auth', 'can-i', verb, resource, '-n', ns, '--as', `${user}@${release}`])
      ).stdout.trim();
    const kinds = ['gitlabawsfederations.gitlab-aws.io', 'gitlabconnections.gitlab-aws.io'];
    for (const kind of kinds) {
      expect(await can('viewer', 'list', kind), kind).toBe('yes');
      expect(await can('viewer', 'create', kind), kind).toBe('no');
      expect(await can('editor', 'create', kind), kind).toBe('yes');
      expect(await can('editor', 'delete', kind), kind).toBe('yes');
    }
    expect(await can('viewer', 'get', 'gitlabawspolicies.gitlab-aws.io')).toBe('yes');
    for (const verb of ['create', 'update', 'patch', 'delete'])
      expect(await can('editor', verb, 'gitlabawspolicies.gitlab-aws.io'), verb).toBe('no');
    // Status is the operator's to write.
    const status = await kubectl([
      'auth',
      'can-i',
      'patch',
      'gitlabawsfederations.gitlab-aws.io',
      '--subresource=status',
      '-n',
      ns,
      '--as',
      `editor@${release}`,
    ]);
    expect(status.stdout.trim()).toBe('no');
    await kubectl(['delete', 'clusterrole', ...roles.map((r) => r.metadata.name)]);
  });
});

describe('all of it together', () => {
  it('renders objects the API server accepts (kubectl apply --dry-run=server)', async () => {
    const ns = await createNamespace('helm-habits');
    const manifest = await helmOk([
      'template',
      `habits-${ns}`,
      CHART,
      '--namespace',
      ns,
      '-f',
      valuesFile({
        podSecurityContext: { fsGroup: 2000 },
        securityContext: { runAsUser: 10001 },
        extraVolumes: [{ name: 'corp-ca', configMap: { name: 'corp-ca' } }],
        extraVolumeMounts: [{ name: 'corp-ca', mountPath: '/etc/corp-ca', readOnly: true }],
        proxy: { httpsProxy: 'http://proxy.corp:3128', noProxy: '.corp' },
      }),
    ]);
    const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: manifest });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `clusterrole.rbac.authorization.k8s.io/habits-${ns}-gitlab-aws-operator-view`,
    );
  });
});
