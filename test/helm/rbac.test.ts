// Least privilege, proved twice: the chart's rules are exactly the list below
// (derived from src/), and the real operator, holding only a token of the
// chart's ServiceAccount, takes both kinds through create, update and delete.
// A verb missing from the chart fails the second test; a verb the operator
// does not use fails the first.
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { afterAll, describe, expect, it } from 'vitest';
import { startCodeConnectionsFake } from '../../testbed/fakes/codeconnections/index.ts';
import { type OperatorProcess, startOperatorProcess } from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import { connectionApi, waitForConnection, waitForGone } from '../connection/helpers.ts';
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
import { applyPolicy } from '../tenancy/policies.ts';
import {
  CHART,
  find,
  helm,
  helmOk,
  type K8sObject,
  kubeconfigWithToken,
  one,
  operatorContainer,
  parseManifests,
  render as renderChart,
  valuesFile,
} from './helm.ts';

// The operator's own grants. The ClusterRoles aggregated into view and edit
// are for people, bound to no one by the chart: habits.test.ts tests them.
const render = (values: { rbac?: object } & Record<string, unknown> = {}) =>
  renderChart({ ...values, rbac: { aggregateToDefaultRoles: false, ...values.rbac } });

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };

/** Every (group, resource, verb[, name]) a set of rules grants, one string each. */
function grants(rules: Rule[]): string[] {
  const out: string[] = [];
  for (const r of rules)
    for (const g of r.apiGroups)
      for (const res of r.resources)
        for (const v of r.verbs)
          for (const n of r.resourceNames ?? ['*'])
            out.push(`${g || 'core'}/${res}:${v}${n === '*' ? '' : `[${n}]`}`);
  return out.sort();
}

// What the operator calls, read from src/ (nothing else talks to the API server):
// - runtime/watch/informer.ts + runtime/transport/kube.ts: list and watch both kinds (cluster-wide
//   or per watched namespace);
// - runtime/reconcile/finalizers.ts: get the object and merge-patch metadata.finalizers;
// - runtime/reconcile/status.ts: merge-patch the status subresource;
// - <kind>/finalizers update: not called directly, but clusters running the
//   OwnerReferencesPermissionEnforcement admission plugin require it to set
//   finalizers;
// - controllers/shared/secrets.ts: read (get) the Secrets named in a spec, in the
//   resource's namespace; never list, watch or write them;
// - runtime/reconcile/events.ts: create core/v1 Events, merge-patch them to fold repeats;
// - runtime/process/leader.ts: read, create and replace (update) its Lease in its own
//   namespace; get and update only for the Lease named by --leader-election-id.
const WATCH_GRANTS = [
  'gitlab-aws.io/gitlabawsfederations:get',
  'gitlab-aws.io/gitlabawsfederations:list',
  'gitlab-aws.io/gitlabawsfederations:watch',
  'gitlab-aws.io/gitlabawsfederations:patch',
  'gitlab-aws.io/gitlabconnections:get',
  'gitlab-aws.io/gitlabconnections:list',
  'gitlab-aws.io/gitlabconnections:watch',
  'gitlab-aws.io/gitlabconnections:patch',
  'gitlab-aws.io/gitlabawsfederations/status:patch',
  'gitlab-aws.io/gitlabconnections/status:patch',
  'gitlab-aws.io/gitlabawsfederations/finalizers:update',
  'gitlab-aws.io/gitlabconnections/finalizers:update',
  'core/secrets:get',
  'core/events:create',
  'core/events:patch',
].sort();
// --tenancy restricted (the chart's default), controllers/shared/tenancy.ts:
// list and watch the GitLabAwsPolicies and the namespaces' labels, in every mode.
const TENANCY_GRANTS = [
  'gitlab-aws.io/gitlabawspolicies:get',
  'gitlab-aws.io/gitlabawspolicies:list',
  'gitlab-aws.io/gitlabawspolicies:watch',
  'core/namespaces:get',
  'core/namespaces:list',
  'core/namespaces:watch',
].sort();
const leaseGrants = (id: string) =>
  [
    'coordination.k8s.io/leases:create',
    `coordination.k8s.io/leases:get[${id}]`,
    `coordination.k8s.io/leases:update[${id}]`,
  ].sort();

const rulesOf = (o: K8sObject) => (o as unknown as { rules: Rule[] }).rules;
// Without a clusterId value: read the kube-system namespace's UID (--cluster-id's default), nothing else.
const CLUSTER_ID_GRANTS = ['core/namespaces:get[kube-system]'];
const WATCH_GRANTS_WITHOUT_SECRETS = WATCH_GRANTS.filter((g) => g !== 'core/secrets:get');

describe('the chart’s RBAC grants exactly what the operator uses', () => {
  it('cluster-wide: a ClusterRole for the kinds, Secrets and Events; a Role for the Lease', async () => {
    const objects = await render();
    expect(
      find(objects, 'ClusterRole')
        .map((r) => r.metadata.name)
        .sort(),
    ).toEqual([
      'gao-gitlab-aws-operator',
      'gao-gitlab-aws-operator-cluster-id',
      'gao-gitlab-aws-operator-tenancy',
    ]);
    expect(grants(rulesOf(one(objects, 'ClusterRole', 'gao-gitlab-aws-operator')))).toEqual(WATCH_GRANTS);
    expect(grants(rulesOf(one(objects, 'ClusterRole', 'gao-gitlab-aws-operator-tenancy')))).toEqual(
      TENANCY_GRANTS,
    );
    expect(grants(rulesOf(one(objects, 'ClusterRole', 'gao-gitlab-aws-operator-cluster-id')))).toEqual(
      CLUSTER_ID_GRANTS,
    );
    expect(find(await render({ tenancy: 'open', clusterId: 'prod' }), 'ClusterRole')).toHaveLength(1);
    const roles = find(objects, 'Role');
    expect(roles.map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
      'gao-system/gao-gitlab-aws-operator-leader-election',
    ]);
    expect(grants(rulesOf(roles[0]!))).toEqual(leaseGrants('gao-gitlab-aws-operator'));
    for (const binding of find(objects, 'ClusterRoleBinding') as unknown as { subjects: unknown[] }[]) {
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'gao-gitlab-aws-operator', namespace: 'gao-system' },
      ]);
    }
  });

  it('a clusterId value: no cluster-ID grant', async () => {
    const objects = await render({ clusterId: 'prod-eu-1', tenancy: 'open' });
    expect(find(objects, 'ClusterRole').map((r) => r.metadata.name)).toEqual(['gao-gitlab-aws-operator']);
    expect(find(objects, 'ClusterRoleBinding').map((r) => r.metadata.name)).toEqual([
      'gao-gitlab-aws-operator',
    ]);
  });

  it('rbac.secrets.namespaces: Secret get in those namespaces only, no Secret rule cluster-wide', async () => {
    const objects = await render({
      clusterId: 'prod',
      rbac: { secrets: { namespaces: ['team-a', 'team-b'] } },
    });
    expect(grants(rulesOf(one(objects, 'ClusterRole', 'gao-gitlab-aws-operator')))).toEqual(
      WATCH_GRANTS_WITHOUT_SECRETS,
    );
    const secretRoles = find(objects, 'Role', 'gao-gitlab-aws-operator-secrets');
    expect(secretRoles.map((r) => r.metadata.namespace)).toEqual(['team-a', 'team-b']);
    for (const role of secretRoles) expect(grants(rulesOf(role))).toEqual(['core/secrets:get']);
    const bindings = find(objects, 'RoleBinding', 'gao-gitlab-aws-operator-secrets') as unknown as {
      metadata: { namespace: string };
      roleRef: unknown;
      subjects: unknown[];
    }[];
    expect(bindings.map((b) => b.metadata.namespace)).toEqual(['team-a', 'team-b']);
    for (const b of bindings) {
      expect(b.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'gao-gitlab-aws-operator-secrets',
      });
      expect(b.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'gao-gitlab-aws-operator', namespace: 'gao-system' },
      ]);
    }
    // Nothing else in the chart grants Secrets.
    const all = [...find(objects, 'ClusterRole'), ...find(objects, 'Role')].flatMap((r) =>
      grants(rulesOf(r)).map((g) => `${r.metadata.namespace ?? ''}:${g}`),
    );
    expect(all.filter((g) => g.includes('secrets')).sort()).toEqual([
      'team-a:core/secrets:get',
      'team-b:core/secrets:get',
    ]);

    // In namespaced mode too: the watched namespaces' Roles lose their Secret rule.
    const namespaced = await render({
      clusterId: 'prod',
      watchNamespaces: ['team-a', 'team-c'],
      rbac: { secrets: { namespaces: ['team-a'] } },
    });
    for (const role of find(namespaced, 'Role', 'gao-gitlab-aws-operator'))
      expect(grants(rulesOf(role))).toEqual(WATCH_GRANTS_WITHOUT_SECRETS);
    expect(
      find(namespaced, 'Role', 'gao-gitlab-aws-operator-secrets').map((r) => r.metadata.namespace),
    ).toEqual(['team-a']);
  });

  it('refuses an rbac.secrets.namespaces entry that is not a namespace name', async () => {
    const bad = await helm([
      'template',
      'gao',
      CHART,
      '-f',
      valuesFile({ rbac: { secrets: { namespaces: ['Team_A'] } } }),
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("- at '/rbac/secrets/namespaces/0'");
  });

  it('namespaced mode: a Role per watched namespace; cluster-wide only the read-only tenancy and cluster-ID grants', async () => {
    const objects = await render({
      watchNamespaces: ['team-a', 'team-b'],
      leaderElection: { id: 'shard-a' },
    });
    expect(
      find(objects, 'ClusterRole')
        .map((r) => r.metadata.name)
        .sort(),
    ).toEqual(['gao-gitlab-aws-operator-cluster-id', 'gao-gitlab-aws-operator-tenancy']);
    expect(grants(rulesOf(one(objects, 'ClusterRole', 'gao-gitlab-aws-operator-tenancy')))).toEqual(
      TENANCY_GRANTS,
    );
    expect(grants(rulesOf(one(objects, 'ClusterRole', 'gao-gitlab-aws-operator-cluster-id')))).toEqual(
      CLUSTER_ID_GRANTS,
    );
    expect(find(objects, 'ClusterRoleBinding')).toHaveLength(2);
    const open = await render({ watchNamespaces: ['team-a'], tenancy: 'open', clusterId: 'prod' });
    expect(find(open, 'ClusterRole')).toEqual([]);
    expect(find(open, 'ClusterRoleBinding')).toEqual([]);
    const roles = find(objects, 'Role');
    expect(roles.map((r) => `${r.metadata.namespace}/${r.metadata.name}`).sort()).toEqual([
      'gao-system/gao-gitlab-aws-operator-leader-election',
      'team-a/gao-gitlab-aws-operator',
      'team-b/gao-gitlab-aws-operator',
    ]);
    for (const role of roles) {
      expect(grants(rulesOf(role))).toEqual(
        role.metadata.namespace === 'gao-system' ? leaseGrants('shard-a') : WATCH_GRANTS,
      );
    }
    expect(
      find(objects, 'RoleBinding')
        .map((b) => b.metadata.namespace)
        .sort(),
    ).toEqual(['gao-system', 'team-a', 'team-b']);
  });
});

// ---------------------------------------------------------------------------

const started: { ops: OperatorProcess[]; gitlabs: GitLabInstance[]; closers: (() => Promise<void>)[] } = {
  ops: [],
  gitlabs: [],
  closers: [],
};
afterAll(async () => {
  await Promise.all(started.ops.map((op) => op.stop('SIGKILL')));
  await Promise.all(started.gitlabs.map((g) => g.close()));
  await Promise.all(started.closers.map((close) => close()));
});

/**
 * Installs the chart into a namespace of its own, then starts the operator as
 * the Deployment would: the container's args from the release's manifest, the
 * downward-API variables, and a token of the chart's ServiceAccount.
 */
async function installAndRun(
  prefix: string,
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Promise<{ ns: string; release: string; op: OperatorProcess }> {
  const ns = await createNamespace(prefix);
  const release = `gao-${ns.split('-').pop()}`;
  await helmOk([
    'install',
    release,
    CHART,
    '--namespace',
    ns,
    '-f',
    // No admission policy: it would hold every namespace of the shared API server
    // (test/tenancy/admission.test.ts tests it).
    valuesFile({
      propagationDelay: '1s',
      logLevel: 'debug',
      tenancyAdmission: { enabled: false },
      ...values,
    }),
  ]);
  const manifest = parseManifests(await helmOk(['get', 'manifest', release, '--namespace', ns]));
  const container = operatorContainer(manifest);
  const sa = find(manifest, 'ServiceAccount')[0]!.metadata.name;

  // TokenRequest API: the testbed runs without the ServiceAccount admission
  // plugin, but `kubectl create token` only needs the API.
  const token = await kubectl(['create', 'token', sa, '-n', ns, '--duration=1h']);
  expect(token.stderr).toBe('');
  const kubeconfig = kubeconfigWithToken(token.stdout.trim(), ns);
  const whoami = await kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], {
    kubeconfig,
  });
  expect(whoami.stdout).toBe(`system:serviceaccount:${ns}:${sa}`);

  expect(container.command).toEqual(['gitlab-aws-operator', 'run']);
  const op = startOperatorProcess(
    CLI,
    [
      'run',
      ...container.args,
      // Outside a pod: the kubeconfig with the token, loopback ports.
      '--kubeconfig',
      kubeconfig,
      '--leader-election-namespace',
      ns,
      '--metrics-addr',
      '127.0.0.1:0',
      '--health-addr',
      '127.0.0.1:0',
    ],
    { ...env, POD_NAME: `${release}-0`, POD_NAMESPACE: ns, KUBECONFIG: '' },
  );
  started.ops.push(op);
  return { ns, release, op };
}

// A 403 next to a status or code (not, say, a reconcile that took 403 ms).
const refusals = (op: OperatorProcess) =>
  op.lines.filter((l) => /forbidden|(?:code|status)\D{0,12}\b403\b/i.test(JSON.stringify(l)));

/** No API call of the operator was refused (a refused Event or Lease call is only logged). */
function expectNoForbidden(op: OperatorProcess): void {
  expect(refusals(op), JSON.stringify(refusals(op), null, 2)).toEqual([]);
}

/** Runs `steps`, failing at once (not at a wait's timeout) when the API server refuses the operator a request. */
async function failFastOnForbidden(op: OperatorProcess, steps: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const refused = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const lines = refusals(op);
      if (lines.length > 0)
        reject(new Error(`the API server refused the operator:\n${JSON.stringify(lines, null, 2)}`));
    }, 100);
  });
  try {
    await Promise.race([steps(), refused]);
  } finally {
    clearInterval(timer);
  }
}

const logs = (op: OperatorProcess) => () =>
  `${op.lines.map((l) => JSON.stringify(l)).join('\n')}\n${op.stderr()}`;

/** A GitLabAwsFederation: create and Ready, update and Ready again, delete: gone from IAM, GitLab and the cluster. */
async function federationLifecycle(
  ns: string,
  op: OperatorProcess,
  gitlab: GitLabInstance,
  labels: Record<string, string>,
): Promise<void> {
  await createTokenSecret(ns, gitlab.token);
  const roleName = `helm-${ns}`;
  const spec = (refs: string[]) => ({
    gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
    role: { name: roleName },
    access: [{ project: 'payments/api', refs }],
    ciVariables: { target: { project: 'payments/api' } },
  });
  const manifest = (refs: string[]) => {
    const f = federation('deploy', spec(refs));
    return { ...f, metadata: { ...f.metadata, labels } };
  };
  await apply(ns, manifest(['main']));
  const ready = await waitForCondition(ns, 'deploy', 'Ready', 'True', { timeoutMs: 60_000 });
  expect(ready.metadata.finalizers).toEqual(['gitlab-aws.io/cleanup']);
  expect(ready.status?.subjects).toEqual(['project_path:payments/api:ref_type:branch:ref:main']);
  await iamClient().send(new GetRoleCommand({ RoleName: roleName }));
  const variableKeys = () => gitlab.fake.state.variables({ project: 'payments/api' }).map((v) => v.key);
  expect(variableKeys().sort()).toEqual(['AWS_DEFAULT_REGION', 'ROLE_ARN']);

  await apply(ns, manifest(['main', 'release/*']));
  const updated = await waitForCondition(ns, 'deploy', 'Ready', 'True', { timeoutMs: 60_000 });
  expect(updated.metadata.generation).toBe(2);
  expect(updated.status?.subjects).toHaveLength(2);

  const deleted = await kubectl(['delete', 'gitlabawsfederation', 'deploy', '-n', ns, '--wait=false']);
  expect(deleted.code).toBe(0);
  await waitFor(
    `${ns}/deploy gone`,
    async () =>
      (await kubectl(['get', 'gitlabawsfederation', 'deploy', '-n', ns])).code !== 0 ? true : undefined,
    { timeoutMs: 30_000, diagnostics: logs(op) },
  );
  await expect(iamClient().send(new GetRoleCommand({ RoleName: roleName }))).rejects.toThrow();
  expect(variableKeys()).toEqual([]);
}

/** A GitLabConnection: create (PENDING), handshake and Ready, update (tags), delete: gone from AWS and the cluster. */
async function connectionLifecycle(
  ns: string,
  op: OperatorProcess,
  fake: Awaited<ReturnType<typeof startCodeConnectionsFake>>,
  labels: Record<string, string>,
): Promise<void> {
  const client = connectionApi();
  await apply(ns, {
    apiVersion: 'gitlab-aws.io/v1alpha1',
    kind: 'GitLabConnection',
    metadata: { name: 'pipelines', labels },
    spec: { tags: { team: 'a' } },
  });
  const pending = await waitForConnection(
    ns,
    'pipelines',
    'PENDING',
    (o) => o.status?.connectionStatus === 'PENDING',
    { op, timeoutMs: 60_000 },
  );
  const arn = pending.status!.connectionArn!;
  fake.completeHandshake(arn);
  await waitForConnection(
    ns,
    'pipelines',
    'Ready',
    (o) => o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    { op, timeoutMs: 60_000 },
  );
  await client.patch(ns, 'pipelines', { spec: { tags: { team: 'b' } } });
  await waitFor('tag team=b in AWS', async () => (fake.tagsOf(arn).team === 'b' ? true : undefined), {
    timeoutMs: 30_000,
    diagnostics: logs(op),
  });
  await client.delete(ns, 'pipelines');
  await waitForGone(ns, 'pipelines', 30_000);
  expect(fake.connections()).toEqual([]);
}

/** The chart runs --tenancy restricted: the work namespace gets what the lifecycles use. */
const testPolicy = (gitlab: GitLabInstance) => ({
  gitlab: { urls: [gitlab.fake.url, 'https://gitlab.com'], paths: ['payments'] },
});

describe('the operator runs with nothing but the chart’s RBAC', () => {
  it('cluster-wide with a label selector (one shard): both kinds through create, update and delete', async () => {
    const gitlab = await startGitLab();
    started.gitlabs.push(gitlab);
    const fake = await startCodeConnectionsFake();
    started.closers.push(() => fake.close());
    const shard = `s${Math.random().toString(36).slice(2, 8)}`;
    // The resources live in a namespace other than the release's.
    const work = await createNamespace('helm-rbac-work');
    const { ns, release, op } = await installAndRun(
      'helm-rbac',
      {
        labelSelector: `gitlab-aws.io/shard=${shard}`,
        clusterId: 'helm-rbac',
        extraArgs: ['--connection-poll-interval=300ms', '--connection-poll-max-interval=1500ms'],
      },
      {
        ...awsEnv(),
        AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS: fake.endpoint,
        NODE_EXTRA_CA_CERTS: gitlab.caFile,
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    );
    const labels = { 'gitlab-aws.io/shard': shard };
    started.closers.push(await applyPolicy(`helm-rbac-${shard}`, work, testPolicy(gitlab)));
    await failFastOnForbidden(op, async () => {
      await federationLifecycle(work, op, gitlab, labels);
      await connectionLifecycle(work, op, fake, labels);
    });

    // The operator led through the chart's Lease and recorded events.
    const lease = await kubectl(['get', 'lease', `${release}-gitlab-aws-operator`, '-n', ns, '-o', 'json']);
    expect(lease.code).toBe(0);
    expect(JSON.parse(lease.stdout).spec.holderIdentity).toMatch(new RegExp(`^${release}-0_`));
    const events = await kubectl(['get', 'events', '-n', work, '-o', 'json']);
    const reasons = (JSON.parse(events.stdout).items as { reason: string }[]).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Ready', 'ConnectionCreated']));
    expectNoForbidden(op);
    expect(await op.stop()).toBe(0);
  }, 240_000);

  it('namespaced mode: Roles in the watched namespace and the read-only tenancy and cluster-ID grants are enough', async () => {
    const gitlab = await startGitLab();
    started.gitlabs.push(gitlab);
    const fake = await startCodeConnectionsFake();
    started.closers.push(() => fake.close());
    const work = await createNamespace('helm-ns-work');
    const { op } = await installAndRun(
      'helm-ns',
      {
        // No clusterId: the operator reads the kube-system namespace's UID through the chart's grant.
        watchNamespaces: [work],
        extraArgs: ['--connection-poll-interval=300ms', '--connection-poll-max-interval=1500ms'],
      },
      {
        ...awsEnv(),
        AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS: fake.endpoint,
        NODE_EXTRA_CA_CERTS: gitlab.caFile,
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    );
    started.closers.push(await applyPolicy(work, work, testPolicy(gitlab)));
    const uid = (await kubectl(['get', 'namespace', 'kube-system', '-o', 'jsonpath={.metadata.uid}'])).stdout;
    expect(uid).toMatch(/^[0-9a-f-]{36}$/);
    const starting = await op.waitForLog((l) => l.msg === 'starting');
    expect(starting.clusterId).toBe(uid);
    await failFastOnForbidden(op, async () => {
      await federationLifecycle(work, op, gitlab, {});
      await connectionLifecycle(work, op, fake, {});
    });
    expectNoForbidden(op);
    expect(await op.stop()).toBe(0);
  }, 240_000);
});

describe('rbac.secrets.namespaces', () => {
  it('the operator reads Secrets in the listed namespaces only: elsewhere SecretForbidden, nothing else changes', async () => {
    const gitlab = await startGitLab();
    started.gitlabs.push(gitlab);
    const shard = `s${Math.random().toString(36).slice(2, 8)}`;
    const listed = await createNamespace('helm-sec-listed');
    const unlisted = await createNamespace('helm-sec-unlisted');
    const { ns, release, op } = await installAndRun(
      'helm-sec',
      {
        labelSelector: `gitlab-aws.io/shard=${shard}`,
        // Open tenancy and no clusterId: beside the kinds and Events, the operator holds only
        // the Secret Roles and get on namespaces/kube-system (the cluster ID).
        tenancy: 'open',
        rbac: { secrets: { namespaces: [listed] } },
      },
      {
        ...awsEnv(),
        NODE_EXTRA_CA_CERTS: gitlab.caFile,
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    );
    const manifest = (where: string) => {
      const f = federation('deploy', {
        gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
        role: { name: `helm-${where}` },
        access: [{ project: 'payments/api', refs: ['main'] }],
      });
      return { ...f, metadata: { ...f.metadata, labels: { 'gitlab-aws.io/shard': shard } } };
    };
    for (const where of [listed, unlisted]) {
      await createTokenSecret(where, gitlab.token);
      await apply(where, manifest(where));
    }
    const uid = (await kubectl(['get', 'namespace', 'kube-system', '-o', 'jsonpath={.metadata.uid}'])).stdout;
    expect((await op.waitForLog((l) => l.msg === 'starting')).clusterId).toBe(uid);
    await waitForCondition(listed, 'deploy', 'Ready', 'True', { timeoutMs: 60_000 });
    const refused = await waitForCondition(unlisted, 'deploy', 'Ready', 'False', {
      reason: 'SecretForbidden',
      timeoutMs: 60_000,
    });
    const ready = refused.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.message).toContain(`the operator may not read Secret ${unlisted}/gitlab-token`);
    // What the API server grants the chart's ServiceAccount.
    const sa = `system:serviceaccount:${ns}:${release}-gitlab-aws-operator`;
    const canGet = async (where: string) =>
      (await kubectl(['auth', 'can-i', 'get', 'secrets', '-n', where, `--as=${sa}`])).stdout.trim();
    expect(await canGet(listed)).toBe('yes');
    expect(await canGet(unlisted)).toBe('no');
    expect((await kubectl(['delete', 'glaf', 'deploy', '-n', listed, '--timeout=30s'])).code).toBe(0);
    expect(await op.stop()).toBe(0);
  }, 180_000);
});
