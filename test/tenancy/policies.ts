// GitLabAwsPolicies in tests: cluster-scoped, so each test's policy selects
// only its own namespace (by the label every namespace has) and is deleted
// after the test.
import type { GitLabAwsPolicySpec } from '../../src/api/v1alpha1/index.ts';
import { kubectl } from '../harness/kube.ts';

export type PolicySpec = Omit<GitLabAwsPolicySpec, 'namespaceSelector'> & {
  namespaceSelector?: GitLabAwsPolicySpec['namespaceSelector'];
};

/** Selects exactly one namespace. */
export const onlyNamespace = (namespace: string) => ({
  matchLabels: { 'kubernetes.io/metadata.name': namespace },
});

export function policyManifest(name: string, namespace: string, spec: PolicySpec) {
  return {
    apiVersion: 'gitlab-aws.io/v1alpha1',
    kind: 'GitLabAwsPolicy',
    metadata: { name },
    spec: { namespaceSelector: onlyNamespace(namespace), ...spec },
  };
}

/** Applies a policy for one namespace; returns a function that deletes it. */
export async function applyPolicy(
  name: string,
  namespace: string,
  spec: PolicySpec,
): Promise<() => Promise<void>> {
  const result = await kubectl(['apply', '-f', '-'], {
    stdin: JSON.stringify(policyManifest(name, namespace, spec)),
  });
  if (result.code !== 0) throw new Error(`kubectl apply GitLabAwsPolicy ${name}: ${result.stderr}`);
  return async () => {
    await kubectl(['delete', 'gitlabawspolicy', name, '--ignore-not-found', '--wait=false']);
  };
}
