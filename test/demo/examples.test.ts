// examples/: every manifest is accepted by the API server (schema, CEL rules,
// defaults) with a server-side dry run against the testbed, and the GitLab CI
// example matches the federation it goes with. The demo applies some for real.
// The manifests and jobs of docs/migrate-keys-to-oidc.md are held to the same.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import type { GitLabAwsPolicySpec } from '../../src/api/v1alpha1/index.ts';
import { evaluateConnection, evaluateFederation } from '../../src/policy/tenancy.ts';
import { kubectl } from '../harness/kube.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples', import.meta.url));
const manifests = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
}
const docsOf = (file: string) =>
  parseAllDocuments(readFileSync(join(EXAMPLES, file), 'utf8')).map((d) => d.toJS() as Doc);

describe('examples/', () => {
  beforeAll(async () => {
    // The namespaces must exist for a dry run of namespaced objects.
    const r = await kubectl(['apply', '-f', join(EXAMPLES, '00-namespaces.yaml')]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('has the examples the README promises', () => {
    const kinds = manifests.flatMap((f) => docsOf(f).map((d) => d.kind));
    expect(kinds.filter((k) => k === 'GitLabAwsFederation')).toHaveLength(4);
    expect(kinds.filter((k) => k === 'GitLabConnection')).toHaveLength(2);
    // A policy per team namespace (docs/tenancy.md).
    expect(kinds.filter((k) => k === 'GitLabAwsPolicy')).toHaveLength(3);
    const all = manifests.flatMap(docsOf);
    const spec = (name: string) =>
      all.find((d) => d.metadata.name === name)?.spec as never as Record<
        string,
        { url?: string; caSecretRef?: unknown } & Record<string, unknown>
      >;
    expect(spec('payments-deploy').gitlab!.url).toBe('https://gitlab.com');
    expect(spec('libs-release').access).toEqual([{ group: 'payments/libs', refType: 'tag', refs: ['v*'] }]);
    expect(spec('payments-deploy-self-managed').gitlab!.caSecretRef).toEqual({
      name: 'gitlab-ca',
      key: 'ca.crt',
    });
    expect(all.some((d) => d.kind === 'Secret' && d.metadata.name === 'gitlab-ca')).toBe(true);
    expect(all.some((d) => d.kind === 'Secret' && d.metadata.name === 'gitlab-token')).toBe(true);
    expect(spec('gitlab-example').host).toMatchObject({ name: 'gitlab-example' });
    // Keys for a GitLab AWS cannot reach: only team-reporting's policy allows them.
    expect(spec('reporting-batch')).toMatchObject({
      method: 'IAMUserAccessKeys',
      rotation: { interval: '30d', gracePeriod: '1h' },
      ciVariables: { target: { project: 'reporting/batch' }, protected: true },
    });
    const methods = (name: string) =>
      (
        all.find((d) => d.kind === 'GitLabAwsPolicy' && d.metadata.name === name)!.spec as {
          methods?: string[];
        }
      ).methods ?? ['OIDC'];
    expect(methods('team-reporting')).toEqual(['IAMUserAccessKeys', 'OIDC']);
    expect(methods('team-payments')).toEqual(['OIDC']);
    expect(methods('team-pipelines')).toEqual(['OIDC']);
    const reporting = all.find((d) => d.metadata.name === 'reporting-batch')!;
    expect(
      all.some(
        (d) =>
          d.kind === 'Secret' &&
          d.metadata.name === 'gitlab-token' &&
          d.metadata.namespace === reporting.metadata.namespace,
      ),
    ).toBe(true);
  });

  for (const file of manifests) {
    it(`${file} is accepted by kubectl apply --dry-run=server`, async () => {
      const r = await kubectl(['apply', '--dry-run=server', '-f', join(EXAMPLES, file)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/\(server dry run\)/);
      expect(r.stdout.trim().split('\n')).toHaveLength(docsOf(file).length);
    });
  }

  it('every federation and connection is allowed by the policies of its namespace (01-policies.yaml)', () => {
    const all = manifests.flatMap(docsOf);
    const labels = new Map(
      all
        .filter((d) => d.kind === 'Namespace')
        .map((d) => [d.metadata.name, (d.metadata as { labels?: Record<string, string> }).labels ?? {}]),
    );
    const policies = all
      .filter((d) => d.kind === 'GitLabAwsPolicy')
      .map((d) => ({ name: d.metadata.name, spec: d.spec as unknown as GitLabAwsPolicySpec }));
    const resources = all.filter((d) => d.kind === 'GitLabAwsFederation' || d.kind === 'GitLabConnection');
    expect(resources.length).toBeGreaterThan(0);
    for (const d of resources) {
      const input = {
        resource: { namespace: d.metadata.namespace!, name: d.metadata.name, spec: d.spec as never },
        namespaceLabels: labels.get(d.metadata.namespace!) ?? {},
        policies,
        defaultRegion: undefined,
      };
      const verdict =
        d.kind === 'GitLabAwsFederation' ? evaluateFederation(input) : evaluateConnection(input);
      expect(verdict, `${d.kind} ${d.metadata.namespace}/${d.metadata.name}`).toMatchObject({
        allowed: true,
      });
    }
  });

  it('gitlab-ci/.gitlab-ci.yml requests an ID token for the federation and uses ROLE_ARN', () => {
    const text = readFileSync(join(EXAMPLES, 'gitlab-ci', '.gitlab-ci.yml'), 'utf8');
    const ci = parse(text) as Record<string, { id_tokens?: Record<string, { aud: string }> }>;
    const jobs = Object.entries(ci).filter(([, job]) => job && typeof job === 'object' && 'script' in job);
    expect(jobs.length).toBeGreaterThan(0);
    // The audience a federation admits: spec.audience, default spec.gitlab.url.
    const audiences = manifests
      .flatMap(docsOf)
      .filter((d) => d.kind === 'GitLabAwsFederation')
      .map((d) => {
        const spec = d.spec as { audience?: string; gitlab?: { url?: string } };
        return spec.audience ?? spec.gitlab?.url ?? 'https://gitlab.com';
      });
    for (const [name, job] of jobs) {
      const tokens = Object.values(job.id_tokens ?? {});
      expect(tokens, `${name} has id_tokens`).toHaveLength(1);
      expect(audiences, `${name}'s aud matches a federation example`).toContain(tokens[0]!.aud);
      expect(JSON.stringify(job), `${name} uses ROLE_ARN`).toContain('$ROLE_ARN');
    }
    expect(tokens(ci)).toEqual(['https://gitlab.example.com']);
    expect(text).toContain('aws sts assume-role-with-web-identity');
    expect(text).toMatch(/AWS_ROLE_ARN: \$ROLE_ARN/);
    expect(text).toMatch(/AWS_WEB_IDENTITY_TOKEN_FILE:/);
  });
});

function tokens(ci: Record<string, { id_tokens?: Record<string, { aud: string }> }>): string[] {
  return [
    ...new Set(Object.values(ci).flatMap((job) => Object.values(job?.id_tokens ?? {}).map((t) => t.aud))),
  ];
}

describe('docs/migrate-keys-to-oidc.md', () => {
  const DOC = fileURLToPath(new URL('../../docs/migrate-keys-to-oidc.md', import.meta.url));
  // A block inside a list item is indented: take the indentation of its first line off every line.
  const dedent = (text: string) => text.replace(new RegExp(`^${/^ */.exec(text)![0]}`, 'gm'), '');
  const blocks = [...readFileSync(DOC, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) =>
    parse(dedent(m[1]!)),
  ) as Record<string, unknown>[];
  const feds = blocks.filter((b) => b.kind === 'GitLabAwsFederation') as unknown as Doc[];
  const jobs = blocks.filter((b) => !b.kind) as Record<string, { script: string[]; id_tokens?: object }>[];

  it('shows the federation before (keys) and after (OIDC), both accepted by the API server', async () => {
    expect(feds.map((f) => (f.spec as { method: string }).method)).toEqual(['IAMUserAccessKeys', 'OIDC']);
    expect(feds[0]!.metadata).toEqual(feds[1]!.metadata);
    expect(feds[0]!.spec!.ciVariables).toEqual(feds[1]!.spec!.ciVariables);
    for (const f of feds) {
      const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: JSON.stringify(f) });
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it('both are allowed by the policy of their namespace in examples/01-policies.yaml', () => {
    const all = manifests.flatMap(docsOf);
    const policies = all
      .filter((d) => d.kind === 'GitLabAwsPolicy')
      .map((d) => ({ name: d.metadata.name, spec: d.spec as unknown as GitLabAwsPolicySpec }));
    const labels = all.find((d) => d.kind === 'Namespace' && d.metadata.name === feds[0]!.metadata.namespace)!
      .metadata as { labels?: Record<string, string> };
    for (const f of feds) {
      const verdict = evaluateFederation({
        resource: { namespace: f.metadata.namespace!, name: f.metadata.name, spec: f.spec as never },
        namespaceLabels: labels.labels ?? {},
        policies,
        defaultRegion: undefined,
      });
      expect(verdict, (f.spec as { method: string }).method).toMatchObject({ allowed: true });
    }
  });

  it("its jobs ask for the federation's audience; the last uses ROLE_ARN and no key", () => {
    const aud = (feds[1]!.spec as { gitlab: { url: string } }).gitlab.url;
    expect(jobs.length).toBe(3);
    const [before, during, after] = jobs.map((j) => Object.values(j)[0]!);
    expect(before!.id_tokens).toBeUndefined();
    for (const job of [during!, after!]) {
      expect(job.id_tokens).toEqual({ AWS_ID_TOKEN: { aud } });
    }
    expect(JSON.stringify(during)).toContain('$ROLE_ARN');
    expect(JSON.stringify(after)).toMatch(/AWS_ROLE_ARN":"\$ROLE_ARN/);
    expect(JSON.stringify(after)).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/);
  });
});
