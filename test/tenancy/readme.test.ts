// The README's quick start: its GitLabAwsPolicy admits its GitLabAwsFederation
// (judged by the operator's own evaluator, for a namespace labelled team:
// payments), and refuses that federation once it asks for more.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { GitLabAwsFederationSpec, GitLabAwsPolicySpec } from '../../src/api/v1alpha1/index.ts';
import { evaluateFederation } from '../../src/policy/tenancy.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const blocks = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map(
  (m) => parse(m[1]!) as Record<string, unknown>,
);
const first = (kind: string) =>
  blocks.find((b) => b.kind === kind) as { metadata: { name: string }; spec: unknown };

describe('README quick start', () => {
  const policy = first('GitLabAwsPolicy');
  const federation = first('GitLabAwsFederation');
  const judge = (spec: GitLabAwsFederationSpec) =>
    evaluateFederation({
      resource: { namespace: 'team-payments', name: 'payments-deploy', spec },
      namespaceLabels: { team: 'payments' },
      policies: [{ name: policy.metadata.name, spec: policy.spec as GitLabAwsPolicySpec }],
      defaultRegion: undefined,
    });

  it('the policy admits the federation the README shows', () => {
    expect(judge(federation.spec as GitLabAwsFederationSpec)).toMatchObject({ allowed: true });
  });

  it('and refuses it when it asks for an administrator role', () => {
    const spec = structuredClone(federation.spec) as GitLabAwsFederationSpec;
    spec.role!.managedPolicyArns = ['arn:aws:iam::aws:policy/AdministratorAccess'];
    expect(judge(spec)).toMatchObject({ allowed: false, reason: 'PolicyViolation' });
  });
});
