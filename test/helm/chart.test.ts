// The chart as helm and the API server see it: lint, render, server-side
// validation of every object, values.schema.json, and the chart's CRDs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNamespace, kubectl } from '../harness/kube.ts';
import { CHART, find, helm, helmOk, one, operatorContainer, REPO_CRDS, render, valuesFile } from './helm.ts';

describe('the chart', () => {
  it('ships the same CRDs as crds/ (copy them again after `npm run generate`)', () => {
    const repo = readdirSync(REPO_CRDS).sort();
    const chart = readdirSync(join(CHART, 'crds')).sort();
    expect(chart).toEqual(repo);
    for (const file of repo) {
      expect(
        readFileSync(join(CHART, 'crds', file), 'utf8'),
        `${file} differs: cp crds/*.yaml ${CHART}/crds/`,
      ).toBe(readFileSync(join(REPO_CRDS, file), 'utf8'));
    }
  });

  it('passes helm lint --strict, with the defaults and in namespaced mode', async () => {
    await helmOk(['lint', '--strict', CHART]);
    await helmOk(['lint', '--strict', CHART, '-f', valuesFile({ watchNamespaces: ['team-a', 'team-b'] })]);
  });

  it('renders a Deployment with 2 replicas, leader election, probes and the restricted security context', async () => {
    const objects = await render();
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRole', // tenancy: policies and namespaces, read-only
      'ClusterRole', // the cluster ID: get on namespaces/kube-system
      'ClusterRole', // aggregated into view (test/helm/habits.test.ts)
      'ClusterRole', // aggregated into edit and admin
      'ClusterRoleBinding',
      'ClusterRoleBinding',
      'ClusterRoleBinding',
      'Deployment',
      'PodDisruptionBudget',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
      'ValidatingAdmissionPolicy', // tenancy at apply time (test/tenancy/admission.test.ts)
      'ValidatingAdmissionPolicyBinding',
    ]);
    const deployment = one(objects, 'Deployment') as unknown as {
      spec: { replicas: number; template: { spec: Record<string, unknown> } };
    };
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec;
    expect(pod.serviceAccountName).toBe('gao-gitlab-aws-operator');
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    const c = operatorContainer(objects);
    expect(c.image).toBe('ghcr.io/gitlab-aws-operator/gitlab-aws-operator:0.1.0');
    expect(c.command).toEqual(['gitlab-aws-operator', 'run']);
    expect(c.args).toEqual([
      '--leader-elect=true',
      '--leader-election-id=gao-gitlab-aws-operator',
      '--metrics-addr=:8080',
      '--health-addr=:8081',
      '--resync-interval=10m',
      '--propagation-delay=10s',
      '--max-trust-policy-size=2048',
      '--tenancy=restricted',
      // No --cluster-id: the operator reads the kube-system namespace's UID.
      '--max-concurrent-reconciles=4',
      '--log-level=info',
    ]);
    expect(c.env).toEqual([
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      // Heap limits that fit the default 256Mi memory limit (docs/bench.md).
      { name: 'NODE_OPTIONS', value: '--max-semi-space-size=2 --max-old-space-size=160' },
    ]);
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.ports).toEqual([
      { name: 'metrics', containerPort: 8080, protocol: 'TCP' },
      { name: 'health', containerPort: 8081, protocol: 'TCP' },
    ]);
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'health' } });
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'health' } });
    expect(c.resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } });
    expect(one(objects, 'PodDisruptionBudget').spec).toMatchObject({ minAvailable: 1 });
    expect(one(objects, 'Service').spec).toMatchObject({
      ports: [{ name: 'metrics', port: 8080, targetPort: 'metrics' }],
    });
  });

  it('turns values into flags and environment variables', async () => {
    const objects = await render({
      watchNamespaces: ['team-a', 'team-b'],
      labelSelector: 'shard=one',
      leaderElection: { id: 'shard-one' },
      resyncInterval: '5m',
      propagationDelay: '30s',
      maxTrustPolicySize: 4096,
      tenancy: 'open',
      clusterId: 'prod-eu',
      awsRegion: 'eu-west-1',
      logLevel: 'debug',
      extraArgs: ['--connection-poll-interval=1m'],
      extraEnv: [{ name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' }],
      nodeOptions: '--max-old-space-size=400',
      image: { tag: '1.2.3' },
    });
    const c = operatorContainer(objects);
    expect(c.image).toBe('ghcr.io/gitlab-aws-operator/gitlab-aws-operator:1.2.3');
    expect(c.args).toEqual([
      '--leader-elect=true',
      '--leader-election-id=shard-one',
      '--namespaces=team-a,team-b',
      '--label-selector=shard=one',
      '--metrics-addr=:8080',
      '--health-addr=:8081',
      '--resync-interval=5m',
      '--propagation-delay=30s',
      '--max-trust-policy-size=4096',
      '--tenancy=open',
      '--cluster-id=prod-eu',
      '--max-concurrent-reconciles=4',
      '--log-level=debug',
      '--connection-poll-interval=1m',
    ]);
    expect(c.env.slice(2)).toEqual([
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=400' },
      { name: 'AWS_REGION', value: 'eu-west-1' },
      { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
    ]);
  });

  it('leaves out the PodDisruptionBudget with one replica and adds a ServiceMonitor on request', async () => {
    const single = await render({ replicaCount: 1 });
    expect(find(single, 'PodDisruptionBudget')).toEqual([]);
    expect(find(single, 'ServiceMonitor')).toEqual([]);
    const monitored = await render({
      metrics: { serviceMonitor: { enabled: true, labels: { release: 'prom' } } },
    });
    const sm = one(monitored, 'ServiceMonitor');
    expect(sm.metadata.labels).toMatchObject({ release: 'prom' });
    expect(sm.spec).toMatchObject({ endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }] });
  });

  it('puts the IRSA annotation on the ServiceAccount', async () => {
    const arn = 'arn:aws:iam::123456789012:role/gitlab-aws-operator';
    const objects = await render({ serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': arn } } });
    expect((one(objects, 'ServiceAccount').metadata as { annotations?: object }).annotations).toEqual({
      'eks.amazonaws.com/role-arn': arn,
    });
    const notes = await helmOk([
      'install',
      'gao',
      CHART,
      '--dry-run=client',
      '--namespace',
      'x',
      '--set-string',
      `serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=${arn}`,
    ]);
    expect(notes).toContain(`IRSA role: ${arn}`);
  });

  it('renders objects the API server accepts (kubectl apply --dry-run=server), cluster-wide and namespaced', async () => {
    const ns = await createNamespace('helm-dry');
    const watched = await createNamespace('helm-dry-w');
    for (const values of [{}, { watchNamespaces: [watched] }]) {
      const manifest = await helmOk([
        'template',
        `dry-${ns}`,
        CHART,
        '--namespace',
        ns,
        '-f',
        valuesFile(values),
      ]);
      const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: manifest });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('deployment.apps/');
      expect(result.stdout).toContain('(server dry run)');
    }
  });

  it('refuses values that do not fit values.schema.json, with helm’s message', async () => {
    const bad = await helm(['template', 'gao', CHART, '-f', valuesFile({ replicaCount: 'two' })]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("values don't meet the specifications of the schema(s)");
    expect(bad.stderr).toContain("- at '/replicaCount': got string, want integer");

    const unknown = await helm(['template', 'gao', CHART, '-f', valuesFile({ replicas: 3 })]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("- at '': additional properties 'replicas' not allowed");

    const duration = await helm([
      'template',
      'gao',
      CHART,
      '-f',
      valuesFile({ resyncInterval: '10 minutes' }),
    ]);
    expect(duration.code).not.toBe(0);
    expect(duration.stderr).toContain("- at '/resyncInterval': '10 minutes' does not match pattern");
  });
});
