// The role's trust policy, built the way GitLab builds the `sub` claim
// (lib/gitlab/ci/jwt_v2.rb): `<component>:<value>` pairs joined by `:`, in
// the order of the project's ci_id_token_sub_claim_components. Paths are
// validated by the CRD so that only `refs` can carry * and ? globs.
import type { AccessEntry } from '../api/v1alpha1/index.ts';
import { TerminalError } from '../runtime/reconcile/outcome.ts';
import type { PolicyDocument } from './iam-document.ts';

export const DEFAULT_SUB_CLAIM_COMPONENTS = ['project_path', 'ref_type', 'ref'];

/** One `sub` pattern per ref of the entry; `components` is the project's setting (groups: the default). */
export function subjectPatterns(
  entry: AccessEntry,
  components: string[] = DEFAULT_SUB_CLAIM_COMPONENTS,
): string[] {
  const refType = entry.refType ?? 'branch';
  const projectPath = entry.project ?? `${entry.group}/*`;
  return entry.refs.map((ref) =>
    components
      .map((component) => {
        switch (component) {
          case 'project_path':
            return `project_path:${projectPath}`;
          case 'ref_type':
            return `ref_type:${refType === 'any' ? '*' : refType}`;
          case 'ref':
            return `ref:${ref}`;
          default:
            throw new TerminalError(
              'UnsupportedSubClaim',
              `project ${entry.project} builds its ID token sub claim from ${components.join(', ')}; the operator can only express project_path, ref_type and ref: set ci_id_token_sub_claim_components back to a combination of those`,
            );
        }
      })
      .join(':'),
  );
}

export function trustPolicy(input: {
  providerArn: string;
  /** The issuer without https://: IAM's provider URL and condition-key prefix. */
  providerUrl: string;
  audiences: string[];
  subjects: string[];
}): PolicyDocument {
  const { providerArn, providerUrl, audiences, subjects } = input;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: providerArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: { [`${providerUrl}:aud`]: [...new Set(audiences)].sort() },
          StringLike: { [`${providerUrl}:sub`]: [...new Set(subjects)].sort() },
        },
      },
    ],
  };
}
