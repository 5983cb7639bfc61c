// At apply time: the chart's ValidatingAdmissionPolicy, rendered by the real
// helm and applied to the real kube-apiserver, judges every case of cases.ts
// through `kubectl apply`, and must reach the verdict src/policy/tenancy.ts
// reaches (save where cases.ts says the API server cannot tell), with a
// message naming the GitLabAwsPolicy and the field.
//
// The API server is shared with the other test files, so the test's binding
// holds only the test's namespaces (the chart's tenancyAdmission.namespaceSelector)
// and counts only the test's policies (its paramRef selector, which the chart
// leaves at {}: every policy); each case's policies select its namespace only.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { waitFor } from '../../testbed/processes.ts';
import { type KubectlResult, kubectl } from '../harness/kube.ts';
import { find, type K8sObject, one, render } from '../helm/helm.ts';
import { CASES, type Expected, evaluate, type Instance, instantiate, type TenancyCase } from './cases.ts';

const RUN = randomBytes(3).toString('hex');
const RUN_LABEL = 'tenancy.test.gitlab-aws.io/run';
const CASE_LABEL = 'tenancy.test.gitlab-aws.io/case';
const PROBE_LABEL = 'tenancy.test.gitlab-aws.io/probe';
const RELEASE = `vap-${RUN}`;
const VAP = `${RELEASE}-gitlab-aws-operator-tenancy`;
const BINDING = VAP;

const random = () => randomBytes(3).toString('hex');

function apply(objects: object[], extra: string[] = []): Promise<KubectlResult> {
  return kubectl(['apply', ...extra, '-f', '-'], { stdin: objects.map((o) => stringify(o)).join('---\n') });
}

async function applyOk(objects: object[]): Promise<void> {
  const result = await apply(objects);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
}

const namespace = (name: string, labels: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});

const policyManifest = (p: { name: string; spec: object }, labels: Record<string, string>) => ({
  apiVersion: 'gitlab-aws.io/v1alpha1',
  kind: 'GitLabAwsPolicy',
  metadata: { name: p.name, labels },
  spec: p.spec,
});

const connection = (name: string, ns: string) => ({
  apiVersion: 'gitlab-aws.io/v1alpha1',
  kind: 'GitLabConnection',
  metadata: { name, namespace: ns },
  spec: {},
});

/** The chart's policy and binding, with the binding narrowed to this test (see the top). */
async function admissionObjects(): Promise<{ vap: K8sObject; binding: K8sObject }> {
  const objects = await render(
    { tenancyAdmission: { namespaceSelector: { matchLabels: { [RUN_LABEL]: RUN } } } },
    { release: RELEASE },
  );
  const vap = one(objects, 'ValidatingAdmissionPolicy');
  const binding = one(objects, 'ValidatingAdmissionPolicyBinding') as K8sObject & {
    spec: { paramRef: { selector: object } };
  };
  expect(binding.spec.paramRef).toEqual({ selector: {}, parameterNotFoundAction: 'Allow' });
  binding.spec.paramRef.selector = { matchLabels: { [RUN_LABEL]: RUN } };
  return { vap, binding };
}

/**
 * The API server reads policies and bindings through informers: wait until a
 * policy created after all others refuses a GitLabConnection in its namespace
 * (dry run), so every earlier one is seen too.
 */
async function waitUntilAdmissionSees(ns: string, refusal: string): Promise<void> {
  await waitFor(`admission refuses a GitLabConnection in ${ns} (${refusal})`, async () => {
    const result = await apply([connection(`probe-${random()}`, ns)], ['--dry-run=server']);
    return result.code !== 0 && result.stderr.includes(refusal) ? true : undefined;
  });
}

/** The field as a message names it: an annotation by its key, `kind` by the kind. */
function namesField(stderr: string, field: string): boolean {
  if (field === 'kind') return stderr.includes('GitLabConnections are not allowed');
  const annotation = /^metadata\.annotations\[(.+)\]$/.exec(field);
  if (annotation) return stderr.includes(field);
  return stderr.includes(field) || stderr.includes(field.replace(/\[\d+\]$/, ''));
}

interface Prepared {
  c: TenancyCase;
  i: Instance;
}

describe('at apply time: the chart’s ValidatingAdmissionPolicy', () => {
  const prepared: Prepared[] = [];

  beforeAll(async () => {
    const { vap, binding } = await admissionObjects();
    await applyOk([vap, binding]);
    CASES.forEach((c, n) => {
      const id = `c${n}-${RUN}`;
      const i = instantiate(c, {
        namespace: `${c.namespacePrefix ?? 'tenancy'}-${random()}`,
        suffix: id,
        isolation: { key: CASE_LABEL, value: id },
        labels: { [RUN_LABEL]: RUN },
      });
      prepared.push({ c, i });
    });
    await applyOk(prepared.map(({ i }) => namespace(i.namespace, i.namespaceLabels)));
    await applyOk(
      prepared.flatMap(({ i }) => i.policies.map((p) => policyManifest(p, { [RUN_LABEL]: RUN }))),
    );
    // Last: a policy that refuses every connection in a namespace of its own.
    const probeNs = `tenancy-probe-${random()}`;
    const probe = `probe-${RUN}`;
    await applyOk([
      namespace(probeNs, { [RUN_LABEL]: RUN, [PROBE_LABEL]: RUN }),
      policyManifest(
        {
          name: probe,
          spec: {
            namespaceSelector: { matchLabels: { [PROBE_LABEL]: RUN } },
            gitlab: { urls: ['https://gitlab.com'], paths: ['*'] },
            connections: false,
          },
        },
        { [RUN_LABEL]: RUN },
      ),
    ]);
    await waitUntilAdmissionSees(probeNs, `GitLabAwsPolicy ${probe}: GitLabConnections are not allowed`);
  });

  // The API server is shared: take the policies and the bindings away again
  // (the namespaces stay, as everywhere in the testbed).
  afterAll(async () => {
    await kubectl(['delete', 'validatingadmissionpolicybinding', BINDING, '--ignore-not-found']);
    await kubectl(['delete', 'validatingadmissionpolicy', VAP, '--ignore-not-found']);
    await kubectl(['delete', 'gitlabawspolicies', '-l', `${RUN_LABEL}=${RUN}`, '--ignore-not-found']);
  });

  // One `it` per case, in the order of the table.
  it.each(CASES.map((c, n) => ({ name: c.name, n })))('$name', async ({ n }) => {
    const { c, i } = prepared[n]!;
    const unique = (name: string) => i.policyNames[name] ?? name;

    // What src/policy/tenancy.ts decides.
    const verdict = evaluate(c, i);
    const expected: Expected = c.expected;
    if (expected === 'allowed') {
      expect(verdict, verdict.allowed ? '' : verdict.message).toMatchObject({ allowed: true });
    } else if (expected === 'NoPolicy') {
      expect(verdict).toMatchObject({ allowed: false, reason: 'NoPolicy' });
    } else {
      expect(verdict.allowed).toBe(false);
      if (verdict.allowed) return;
      expect(verdict.reason).toBe('PolicyViolation');
      expect(
        verdict.violations.map((v) => ({ policy: v.policy, field: v.field })).sort(byPolicyField),
      ).toEqual(
        expected.violations.map((v) => ({ policy: unique(v.policy), field: v.field })).sort(byPolicyField),
      );
    }

    // What the API server decides at kubectl apply.
    const result = await apply([i.manifest]);
    const atApplyTime = c.admission?.expected ?? expected;
    if (atApplyTime === 'allowed') {
      expect(result.stderr, c.admission?.because).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(' created');
      return;
    }
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`ValidatingAdmissionPolicy '${VAP}'`);
    if (verdict.allowed || verdict.reason !== 'PolicyViolation') throw new Error('unreachable');
    // The API server reports the first policy that refuses: one of those the
    // evaluator names, with every violation the evaluator finds for it.
    const named = [...new Set(verdict.violations.map((v) => v.policy))].filter((p) =>
      result.stderr.includes(`GitLabAwsPolicy ${p}: `),
    );
    expect(named, result.stderr).toHaveLength(1);
    for (const v of verdict.violations.filter((v) => v.policy === named[0])) {
      expect(result.stderr).toContain(v.message);
      expect(namesField(result.stderr, v.field), `${v.field} in ${result.stderr}`).toBe(true);
    }
  });

  it('stays within the API server’s CEL cost limit for a large policy and a large resource', async () => {
    // 100 wildcard globs and 100 paths against 20 managed policies, 20
    // access entries and 11 roles passed by grants, none allowed: the slowest
    // path through the checks.
    const ns = `tenancy-large-${random()}`;
    const id = `large-${RUN}`;
    const name = `large-${id}`;
    await applyOk([
      namespace(ns, { [RUN_LABEL]: RUN, [CASE_LABEL]: id }),
      policyManifest(
        {
          name,
          spec: {
            namespaceSelector: { matchLabels: { [CASE_LABEL]: id } },
            gitlab: {
              urls: ['https://gitlab.com'],
              paths: Array.from({ length: 100 }, (_, n) => `group-${n}/subgroup/team`),
            },
            role: {
              managedPolicyArns: Array.from(
                { length: 100 },
                (_, n) => `arn:aws:iam::123456789012:policy/gitlab/team-${n}-*-deploy?`,
              ),
              grants: ['ecrPush'],
              passRoleArns: Array.from(
                { length: 100 },
                (_, n) => `arn:aws:iam::123456789012:role/gitlab/team-${n}-*-task?`,
              ),
            },
          },
        },
        { [RUN_LABEL]: RUN },
      ),
    ]);
    const federation = {
      apiVersion: 'gitlab-aws.io/v1alpha1',
      kind: 'GitLabAwsFederation',
      metadata: { name: 'large', namespace: ns },
      spec: {
        access: Array.from({ length: 20 }, (_, n) => ({
          project: `other-group/subgroup/project-${n}`,
          refs: ['main'],
        })),
        role: {
          managedPolicyArns: Array.from(
            { length: 20 },
            (_, n) => `arn:aws:iam::123456789012:policy/gitlab/team-x-something-${n}-deploy1`,
          ),
          grants: [
            {
              ecsDeploy: {
                cluster: 'prod',
                services: ['api'],
                taskRoleArns: Array.from(
                  { length: 10 },
                  (_, n) => `arn:aws:iam::123456789012:role/gitlab/team-x-something-${n}-task1`,
                ),
              },
            },
            {
              cloudFormationDeploy: {
                stackNames: ['payments-*'],
                roleArn: 'arn:aws:iam::123456789012:role/gitlab/team-x-cfn',
              },
            },
          ],
        },
      },
    };
    const refusal = `GitLabAwsPolicy ${name}: spec.access[0].project other-group/subgroup/project-0 is not under`;
    const result = await waitFor('admission sees the large policy', async () => {
      const r = await apply([federation]);
      return r.stderr.includes(`GitLabAwsPolicy ${name}:`) || r.stderr.includes('cost') ? r : undefined;
    });
    expect(result.stderr).not.toContain('cost limit');
    expect(result.stderr).toContain(refusal);
    expect(result.stderr).toContain('...');
  });

  it('judges an update only when it changes the spec or the adopt annotation', async () => {
    // A federation admitted under one policy, which the platform team then tightens.
    const ns = `tenancy-update-${random()}`;
    const id = `update-${RUN}`;
    const name = `team-payments-${id}`;
    const selector = { matchLabels: { [CASE_LABEL]: id } };
    await applyOk([
      namespace(ns, { [RUN_LABEL]: RUN, [CASE_LABEL]: id }),
      policyManifest(
        {
          name,
          spec: {
            namespaceSelector: selector,
            gitlab: { urls: ['https://gitlab.com'], paths: ['payments'] },
          },
        },
        { [RUN_LABEL]: RUN },
      ),
    ]);
    const federation = {
      apiVersion: 'gitlab-aws.io/v1alpha1',
      kind: 'GitLabAwsFederation',
      metadata: { name: 'api', namespace: ns, finalizers: ['gitlab-aws.io/cleanup'] },
      spec: { access: [{ project: 'payments/api', refs: ['main'] }] },
    };
    await waitFor('the policy admits the federation', async () =>
      (await apply([federation])).code === 0 ? true : undefined,
    );
    await applyOk([
      policyManifest(
        {
          name,
          spec: {
            namespaceSelector: selector,
            gitlab: { urls: ['https://gitlab.com'], paths: ['platform'] },
          },
        },
        { [RUN_LABEL]: RUN },
      ),
    ]);
    const refusal = `GitLabAwsPolicy ${name}: spec.access[0].project payments/api is not under the allowed paths [platform]`;
    await waitFor('admission sees the tightened policy', async () => {
      const probe = { ...federation, metadata: { name: `probe-${random()}`, namespace: ns } };
      const result = await apply([probe], ['--dry-run=server']);
      return result.code !== 0 && result.stderr.includes(refusal) ? true : undefined;
    });

    // A label, an annotation of a GitOps tool, the operator's finalizer: not judged again.
    const patch = (body: object) =>
      kubectl([
        'patch',
        'gitlabawsfederation',
        'api',
        '-n',
        ns,
        '--type',
        'merge',
        '-p',
        JSON.stringify(body),
      ]);
    for (const body of [
      { metadata: { labels: { app: 'api' } } },
      {
        metadata: {
          annotations: {
            'argocd.argoproj.io/tracking-id': 'payments:gitlab-aws.io/GitLabAwsFederation:x/api',
          },
        },
      },
      { metadata: { finalizers: null } },
    ]) {
      const result = await patch(body);
      expect(result.stderr, JSON.stringify(body)).toBe('');
      expect(result.code).toBe(0);
    }
    // A change of the spec, or asking for adoption, is judged against the policy as it is now.
    const specChange = await patch({
      spec: { access: [{ project: 'payments/api', refs: ['main', 'release/*'] }] },
    });
    expect(specChange.code).not.toBe(0);
    expect(specChange.stderr).toContain(refusal);
    const adopt = await patch({ metadata: { annotations: { 'gitlab-aws.io/adopt': 'true' } } });
    expect(adopt.code).not.toBe(0);
    expect(adopt.stderr).toContain(
      `GitLabAwsPolicy ${name}: metadata.annotations[gitlab-aws.io/adopt] "true" is not allowed`,
    );
  });
});

describe('the chart installs the admission policy', () => {
  it('with tenancy: restricted (the default): the policy on both kinds, every GitLabAwsPolicy a parameter', async () => {
    const objects = await render();
    const vap = one(objects, 'ValidatingAdmissionPolicy', 'gao-gitlab-aws-operator-tenancy') as unknown as {
      spec: Record<string, unknown>;
    };
    expect(vap.spec).toMatchObject({
      failurePolicy: 'Fail',
      paramKind: { apiVersion: 'gitlab-aws.io/v1alpha1', kind: 'GitLabAwsPolicy' },
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['gitlab-aws.io'],
            apiVersions: ['*'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['gitlabawsfederations', 'gitlabconnections'],
          },
        ],
      },
    });
    const binding = one(
      objects,
      'ValidatingAdmissionPolicyBinding',
      'gao-gitlab-aws-operator-tenancy',
    ) as unknown as {
      spec: Record<string, unknown>;
    };
    expect(binding.spec).toEqual({
      policyName: 'gao-gitlab-aws-operator-tenancy',
      validationActions: ['Deny'],
      paramRef: { selector: {}, parameterNotFoundAction: 'Allow' },
      matchResources: { namespaceSelector: {} },
    });
  });

  it('not with tenancy: open, nor with tenancyAdmission.enabled: false', async () => {
    for (const values of [{ tenancy: 'open' }, { tenancyAdmission: { enabled: false } }]) {
      const objects = await render(values);
      expect(find(objects, 'ValidatingAdmissionPolicy'), JSON.stringify(values)).toEqual([]);
      expect(find(objects, 'ValidatingAdmissionPolicyBinding'), JSON.stringify(values)).toEqual([]);
    }
  });
});

function byPolicyField(a: { policy: string; field: string }, b: { policy: string; field: string }): number {
  return `${a.policy} ${a.field}`.localeCompare(`${b.policy} ${b.field}`);
}
