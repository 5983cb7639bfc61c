// The role's trust policy, built the way GitLab builds the `sub` claim
// (lib/gitlab/ci/jwt_v2.rb): `<component>:<value>` pairs joined by `:`, in
// the order of the project's ci_id_token_sub_claim_components. Paths are
// validated by the CRD so that only `refs` can carry * and ? globs. What the
// claim cannot say (a setting that leaves out the ref or its type) is refused
// here, never widened into a pattern that admits more than the spec names.
import type { AccessEntry } from '../api/v1alpha1/index.ts';
import type { PolicyDocument } from './iam-document.ts';

export const DEFAULT_SUB_CLAIM_COMPONENTS = ['project_path', 'ref_type', 'ref'];
const EXPRESSIBLE = new Set(DEFAULT_SUB_CLAIM_COMPONENTS);

/** The provider URL (and condition-key prefix) IAM derives from an issuer. */
export function providerUrlOf(issuer: string): string {
  return issuer.replace(/^https:\/\//, '').replace(/\/+$/, '');
}

export type SubPatterns =
  | { kind: 'patterns'; patterns: string[] }
  /** The project's claim carries something the operator cannot express (environment, ...). */
  | { kind: 'unsupported'; components: string[] }
  /** The project's claim leaves out what the entry restricts: a pattern would admit more. */
  | { kind: 'tooCoarse'; missing: ('ref' | 'ref_type')[] };

/**
 * One `sub` pattern per ref of the entry. `projectPath` is the path as GitLab
 * spells it (a group entry: the group's, with /* for every project below it);
 * `components` is the project's setting (for a group entry, the default).
 */
export function subjectPatterns(
  entry: Pick<AccessEntry, 'project' | 'group' | 'refType' | 'refs'>,
  components: string[] = DEFAULT_SUB_CLAIM_COMPONENTS,
  canonicalPath: string = entry.project ?? entry.group ?? '',
): SubPatterns {
  const refType = entry.refType ?? 'branch';
  const unsupported = components.filter((c) => !EXPRESSIBLE.has(c));
  if (unsupported.length || components[0] !== 'project_path') return { kind: 'unsupported', components };
  const missing: ('ref' | 'ref_type')[] = [];
  if (!components.includes('ref_type') && refType !== 'any') missing.push('ref_type');
  if (!components.includes('ref') && !entry.refs.every((r) => r === '*')) missing.push('ref');
  if (missing.length) return { kind: 'tooCoarse', missing };
  const projectPath = entry.project ? canonicalPath : `${canonicalPath}/*`;
  const patterns = entry.refs.map((ref) =>
    components
      .map((component) => {
        if (component === 'project_path') return `project_path:${projectPath}`;
        if (component === 'ref_type') return `ref_type:${refType === 'any' ? '*' : refType}`;
        return `ref:${ref}`;
      })
      .join(':'),
  );
  return { kind: 'patterns', patterns };
}

export function trustPolicy(input: {
  providerArn: string;
  /** The issuer without https://: IAM's provider URL and condition-key prefix. */
  providerUrl: string;
  audiences: string[];
  subjects: string[];
}): PolicyDocument {
  const { providerArn, providerUrl, audiences, subjects } = input;
  if (subjects.length === 0) {
    // IAM wants a trust policy, and a condition with no values would be refused:
    // when no entry can be expressed, nobody may assume the role.
    return {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          Principal: { Federated: providerArn },
          Action: 'sts:AssumeRoleWithWebIdentity',
        },
      ],
    };
  }
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

/**
 * The size IAM counts against its trust-policy quota: the characters of the
 * document without white space (IAM does not count white space).
 */
export function policySize(doc: PolicyDocument): number {
  return JSON.stringify(doc).replace(/\s/g, '').length;
}
