// docs/eks-quickstart.md, held to the code: its shell variables filled in as a
// reader's shell would, every manifest applied to the testbed's kube-apiserver
// (server-side dry run, with the CRDs), the values file rendered by the real
// chart, the trust policies evaluated for the chart's ServiceAccount, the
// restricted IAM policy rendered for the federation's role, the team's policy
// judged against the federation, and the job against the federation.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { checkAccess } from '../../src/access/check.ts';
import { evaluateConditions, likePattern } from '../../src/access/conditions.ts';
import type { GitLabAwsFederationSpec, GitLabAwsPolicySpec } from '../../src/api/v1alpha1/index.ts';
import { evaluateFederation } from '../../src/policy/tenancy.ts';
import { kubectl } from '../harness/kube.ts';
import { one, operatorContainer, render } from '../helm/helm.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const DOC = read('docs/eks-quickstart.md');
const shBlocks = [...DOC.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

// What the reader's shell holds after step 1: the exports as written, with the
// two command substitutions answered as AWS would.
const ANSWERS: Record<string, string> = {
  ACCOUNT_ID: '123456789012',
  OIDC_ISSUER: 'oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE',
};
const env: Record<string, string> = {};
const substitute = (text: string) =>
  text.replace(/\$\{([A-Z_]+)\}|\$([A-Z_]+)\b/g, (whole, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    if (!(name in env)) throw new Error(`${whole} is not set by the page's exports`);
    return env[name]!;
  });
for (const block of shBlocks) {
  for (const m of block.matchAll(/^export ([A-Z_]+)=(.*)$/gm)) {
    const name = m[1]!;
    const value = m[2]!.replace(/\s+#.*$/, '').trim();
    env[name] = ANSWERS[name] ?? substitute(value);
    if (value.startsWith('$(')) expect(ANSWERS, `an answer for ${name}`).toHaveProperty(name);
  }
}

/** The heredocs of the shell blocks: the command that reads them, and their text filled in. */
const heredocs = shBlocks.flatMap((block) =>
  [...block.matchAll(/^(.*)<<EOF\n([\s\S]*?)\nEOF$/gm)].map((m) => ({
    command: m[1]!.trim(),
    text: substitute(m[2]!),
  })),
);
const file = (name: string) => {
  const doc = heredocs.find((h) => h.command === `cat > ${name}`);
  if (!doc) throw new Error(`no heredoc writes ${name}`);
  return doc.text;
};
const applied = heredocs
  .filter((h) => h.command === 'kubectl apply -f -')
  .flatMap((h) => parseAllDocuments(h.text).map((d) => d.toJS() as Manifest));

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}
const first = (kind: string) => {
  const found = applied.find((m) => m.kind === kind);
  if (!found) throw new Error(`the page applies no ${kind}`);
  return found;
};

describe('docs/eks-quickstart.md', () => {
  it('sets every variable it uses, and applies each kind of the walk-through', () => {
    expect(env).toMatchObject({ CLUSTER: 'prod', OPERATOR_NAMESPACE: 'gitlab-aws-operator' });
    expect(env.BOUNDARY_ARN).toBe('arn:aws:iam::123456789012:policy/gitlab-boundary');
    expect(applied.map((m) => m.kind)).toEqual(['Namespace', 'GitLabAwsPolicy', 'GitLabAwsFederation']);
    for (const name of [
      'gitlab-boundary.json',
      'operator-trust-irsa.json',
      'operator-trust-pod-identity.json',
      'operator-values.yaml',
    ]) {
      expect(() => file(name)).not.toThrow();
    }
  });

  describe('its manifests', () => {
    beforeAll(async () => {
      // A namespaced object's dry run needs its namespace.
      const ns = first('Namespace');
      const r = await kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(ns) });
      expect(r.code, r.stderr).toBe(0);
    });

    it('are accepted by kubectl apply --dry-run=server (schema, CEL rules, defaults)', async () => {
      for (const m of applied.filter((x) => x.kind !== 'Namespace')) {
        const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: JSON.stringify(m) });
        expect(r.code, `${m.kind} ${m.metadata.name}: ${r.stderr}`).toBe(0);
        expect(r.stdout).toContain(`${m.metadata.name} created (server dry run)`);
      }
    });
  });

  const policy = first('GitLabAwsPolicy');
  const federation = first('GitLabAwsFederation');
  const fedSpec = federation.spec as unknown as GitLabAwsFederationSpec;
  const roleArn = `arn:aws:iam::${env.ACCOUNT_ID}:role${fedSpec.role!.path}${fedSpec.role!.name}`;

  it("the team's GitLabAwsPolicy admits the federation, and refuses more", () => {
    const judge = (spec: GitLabAwsFederationSpec) =>
      evaluateFederation({
        resource: { namespace: federation.metadata.namespace!, name: federation.metadata.name, spec },
        namespaceLabels: first('Namespace').metadata.labels ?? {},
        policies: [{ name: policy.metadata.name, spec: policy.spec as unknown as GitLabAwsPolicySpec }],
        defaultRegion: env.AWS_REGION,
      });
    expect(judge(fedSpec)).toMatchObject({ allowed: true });
    const greedy = structuredClone(fedSpec);
    greedy.role!.managedPolicyArns = ['arn:aws:iam::aws:policy/AdministratorAccess'];
    expect(judge(greedy)).toMatchObject({ allowed: false, reason: 'PolicyViolation' });
  });

  it('renders the restricted IAM policy for the role path and boundary of the policy', () => {
    const rendered = read('deploy/iam/operator-policy-restricted.json').replace(
      /\$\{(ACCOUNT_ID|ROLE_PATH|BOUNDARY_ARN|CLUSTER_ID)\}/g,
      (_, name: string) => env[name]!,
    );
    expect(rendered).not.toContain('${');
    const doc = JSON.parse(rendered) as { Statement: { Sid: string; Resource: string | string[] }[] };
    const resources = doc.Statement.flatMap((s) => [s.Resource].flat());
    // Some statement scoped to the role path covers the federation's role.
    expect(
      resources.filter((r) => r.includes(':role/gitlab/')).some((r) => likePattern(r).test(roleArn)),
    ).toBe(true);
    expect(rendered).toContain(
      `"${(policy.spec as { role: { permissionsBoundaryArn: string } }).role.permissionsBoundaryArn}"`,
    );
    expect(() => JSON.parse(file('gitlab-boundary.json'))).not.toThrow();
  });

  describe('the chart with its values', () => {
    const values = parse(file('operator-values.yaml')) as Record<string, unknown>;

    it('renders, with the ServiceAccount the trust policies name and the IRSA annotation', async () => {
      const objects = await render(values, {
        release: 'gitlab-aws-operator',
        namespace: env.OPERATOR_NAMESPACE!,
      });
      const sa = one(objects, 'ServiceAccount');
      expect(sa.metadata.name).toBe(env.OPERATOR_SA);
      expect((sa.metadata as { annotations?: Record<string, string> }).annotations).toEqual({
        'eks.amazonaws.com/role-arn': `arn:aws:iam::${env.ACCOUNT_ID}:role/gitlab-aws-operator`,
      });
      const container = operatorContainer(objects);
      expect(container.args).toContain('--tenancy=restricted');
      expect(container.args).toContain(`--cluster-id=${env.CLUSTER_ID}`);
      expect(container.env).toContainEqual({ name: 'AWS_REGION', value: env.AWS_REGION });
      // Pod Identity: the same values with the annotations emptied, as the page says.
      const podIdentity = await render(
        { ...values, serviceAccount: { ...(values.serviceAccount as object), annotations: {} } },
        { release: 'gitlab-aws-operator', namespace: env.OPERATOR_NAMESPACE! },
      );
      expect(
        (one(podIdentity, 'ServiceAccount').metadata as { annotations?: object }).annotations ?? {},
      ).toEqual({});
    });
  });

  it("IRSA: the role's trust admits the operator's ServiceAccount, and no other", () => {
    const trust = JSON.parse(file('operator-trust-irsa.json'));
    const issuer = env.OIDC_ISSUER!;
    const provider = {
      arn: `arn:aws:iam::${env.ACCOUNT_ID}:oidc-provider/${issuer}`,
      url: issuer,
      clientIds: ['sts.amazonaws.com'],
    };
    const asAccount = (sa: string, aud = 'sts.amazonaws.com') =>
      checkAccess({
        claims: { iss: `https://${issuer}`, sub: `system:serviceaccount:${sa}`, aud: [aud] },
        trustPolicy: trust,
        provider,
      }).allowed;
    expect(asAccount(`${env.OPERATOR_NAMESPACE}:${env.OPERATOR_SA}`)).toBe(true);
    expect(asAccount(`${env.OPERATOR_NAMESPACE}:default`)).toBe(false);
    expect(asAccount(`team-payments:${env.OPERATOR_SA}`)).toBe(false);
  });

  it("Pod Identity: the role trusts pods.eks.amazonaws.com, for this cluster's ServiceAccount only", () => {
    const trust = JSON.parse(file('operator-trust-pod-identity.json')) as {
      Statement: { Principal: { Service: string }; Action: string[]; Condition: never }[];
    };
    const [statement] = trust.Statement;
    expect(statement!.Principal).toEqual({ Service: 'pods.eks.amazonaws.com' });
    expect([...statement!.Action].sort()).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    // The session tags EKS Pod Identity passes.
    const tags = (cluster: string, namespace: string, sa: string) => ({
      'aws:RequestTag/eks-cluster-name': [cluster],
      'aws:RequestTag/kubernetes-namespace': [namespace],
      'aws:RequestTag/kubernetes-service-account': [sa],
    });
    const admits = (t: ReturnType<typeof tags>) =>
      evaluateConditions(statement!.Condition, t).every((c) => c.satisfied);
    expect(admits(tags(env.CLUSTER!, env.OPERATOR_NAMESPACE!, env.OPERATOR_SA!))).toBe(true);
    expect(admits(tags('staging', env.OPERATOR_NAMESPACE!, env.OPERATOR_SA!))).toBe(false);
    expect(admits(tags(env.CLUSTER!, 'team-payments', env.OPERATOR_SA!))).toBe(false);
  });

  it('the GitLab job asks for the audience, refs and repository the federation names', () => {
    const yamlBlocks = [...DOC.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!));
    const ci = yamlBlocks.find((b) => b?.['ecr-push']) as Record<string, Record<string, unknown>>;
    const job = ci['ecr-push'] as {
      id_tokens: { AWS_ID_TOKEN: { aud: string } };
      variables: Record<string, string>;
      rules: { if: string }[];
      script: string[];
    };
    const audience = (fedSpec as { audience?: string }).audience ?? fedSpec.gitlab!.url;
    expect(job.id_tokens.AWS_ID_TOKEN.aud).toBe(audience);
    expect(job.variables.AWS_ROLE_ARN).toBe('$ROLE_ARN');
    const refs = fedSpec.access!.flatMap((a) => a.refs);
    expect(job.rules.map((r) => r.if)).toEqual(refs.map((r) => `$CI_COMMIT_BRANCH == "${r}"`));
    const grants = fedSpec.role!.grants as { ecrPush?: { repositories: string[] } }[];
    const repository = grants.find((g) => g.ecrPush)!.ecrPush!.repositories[0]!;
    expect(job.script.join('\n')).toContain(`$REGISTRY/${repository}:`);
    expect(fedSpec.ciVariables!.target).toEqual({ project: fedSpec.access![0]!.project });
  });
});
