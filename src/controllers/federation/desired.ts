// Pure decisions of the GitLabAwsFederation controller: the role, the trust
// policy's subjects for what GitLab says about each access entry, the CI/CD
// variables, the provider's thumbprints, and what an earlier spec left behind.
// No I/O; table-tested in test/unit/federation-desired.test.ts.
import type { AccessEntry, GitLabAwsFederationSpec, Grant } from '../../api/v1alpha1/index.ts';
import type { PolicyDocument } from '../../policy/iam-document.ts';
import { unprotectedRefs } from '../../policy/protected-refs.ts';
import { DEFAULT_SUB_CLAIM_COMPONENTS, subjectPatterns } from '../../policy/trust-policy.ts';
import { ownerTags, type Tags } from '../shared/ownership.ts';
import {
  describeEntry,
  REASONS,
  type RefusedEntry,
  replacedMessage,
  tooCoarseMessage,
  unsupportedMessage,
} from './conditions.ts';
import type { Resolved } from './defaults.ts';

/** What a role and an IAM user have in common (principal.ts converges it). */
export interface DesiredPolicies {
  path: string;
  permissionsBoundaryArn?: string;
  managedPolicyArns: string[];
  inlinePolicies: Record<string, object>;
  /** Grant presets, inline policies too; their resources are in `region`. */
  grants: Grant[];
  region: string;
  /** Spec tags plus the owner tags. */
  tags: Tags;
}

export interface DesiredRole extends DesiredPolicies {
  name: string;
  trustPolicy: PolicyDocument;
  description: string;
  maxSessionDuration: number;
}

export function desiredRole(
  spec: GitLabAwsFederationSpec,
  r: Resolved,
  clusterId: string,
  trustPolicy: PolicyDocument,
): DesiredRole {
  return {
    name: r.roleName,
    path: r.principalPath,
    trustPolicy,
    description:
      spec.role?.description ?? `GitLab CI/CD access for ${r.owner}, managed by gitlab-aws-operator`,
    maxSessionDuration: spec.role?.maxSessionDuration ?? 3600,
    permissionsBoundaryArn: r.permissionsBoundaryArn,
    managedPolicyArns: spec.role?.managedPolicyArns ?? [],
    inlinePolicies: (spec.role?.inlinePolicies ?? {}) as Record<string, object>,
    grants: spec.role?.grants ?? [],
    region: r.region ?? '',
    tags: { ...(spec.role?.tags ?? {}), ...ownerTags(r.owner, clusterId) },
  };
}

/** The path and name in a role's or user's ARN (arn:aws:iam::123456789012:role/gitlab/name). */
export function principalNameOf(arn: string): { path: string; name: string } {
  const at = arn.search(/:(role|user)\//);
  const resource = arn.slice(at + ':role'.length);
  const slash = resource.lastIndexOf('/');
  return { path: resource.slice(0, slash + 1), name: resource.slice(slash + 1) };
}

export interface DesiredVariable {
  key: string;
  value: string;
  environmentScope: string;
  protected: boolean;
}

/** ROLE_ARN (method OIDC: `roleArn` given) and the region; the key variables are steps/access-key.ts's. */
export function desiredVariables(
  ciVariables: NonNullable<GitLabAwsFederationSpec['ciVariables']>,
  roleArn: string | undefined,
  region: string | undefined,
): DesiredVariable[] {
  const environmentScope = ciVariables.environmentScope ?? '*';
  const isProtected = ciVariables.protected ?? false;
  const out: DesiredVariable[] = [];
  if (roleArn) {
    out.push({
      key: ciVariables.roleArnVariable ?? 'ROLE_ARN',
      value: roleArn,
      environmentScope,
      protected: isProtected,
    });
  }
  const regionVariable = ciVariables.regionVariable ?? 'AWS_DEFAULT_REGION';
  if (regionVariable && region)
    out.push({ key: regionVariable, value: region, environmentScope, protected: isProtected });
  return out;
}

/** What GitLab says about the project of a `project` entry. */
export interface ProjectFacts {
  id: number;
  /** path_with_namespace, as GitLab spells it. */
  path: string;
  subClaimComponents: string[];
  /** Names of protected branches or tags (for the entry's refType); undefined when not read. */
  protectedNames?: string[];
}

export interface EntryFacts {
  entry: AccessEntry;
  /** A project entry's project; undefined without a GitLab token. */
  project?: ProjectFacts;
  /** A group entry's full_path as GitLab spells it; undefined without a token. */
  groupPath?: string;
  /** The project ID status.projects recorded for this path, if any. */
  recordedId?: number;
}

export interface EntryPlan {
  /** The patterns that go into the trust policy. */
  patterns: string[];
  refused?: RefusedEntry;
  /** Refs no protected branch or tag covers, when protection was read. */
  unprotected: string[];
  /** Protection could not be read (a group entry, or no token). */
  unverified: boolean;
}

/**
 * The trust-policy patterns of one entry. An entry whose claim cannot be
 * expressed, or whose project was replaced, gets none; with
 * requireProtectedRefs, a ref that is not protected gets none.
 */
export function planEntry(facts: EntryFacts, requireProtectedRefs: boolean): EntryPlan {
  const { entry, project } = facts;
  const refType = entry.refType ?? 'branch';
  const checksProtection = refType !== 'any';
  if (project && facts.recordedId !== undefined && facts.recordedId !== project.id) {
    return {
      patterns: [],
      refused: {
        reason: REASONS.projectReplaced,
        message: replacedMessage(project.path, facts.recordedId, project.id),
      },
      unprotected: [],
      unverified: false,
    };
  }
  const components = project?.subClaimComponents ?? DEFAULT_SUB_CLAIM_COMPONENTS;
  const path = project?.path ?? facts.groupPath ?? entry.project ?? entry.group ?? '';
  const built = subjectPatterns(entry, components, path);
  if (built.kind !== 'patterns') {
    const refused: RefusedEntry =
      built.kind === 'tooCoarse'
        ? { reason: REASONS.subClaimTooCoarse, message: tooCoarseMessage(path, components, built.missing) }
        : { reason: REASONS.unsupportedSubClaim, message: unsupportedMessage(path, components) };
    return { patterns: [], refused, unprotected: [], unverified: false };
  }
  const names = project?.protectedNames;
  const unverified = checksProtection && names === undefined;
  const unprotected = checksProtection && names !== undefined ? unprotectedRefs(entry.refs, names) : [];
  if (!requireProtectedRefs) return { patterns: built.patterns, unprotected, unverified };
  // Only refs shown to be protected stay in the trust policy.
  const kept = checksProtection
    ? built.patterns.filter((_p, i) => !unverified && !unprotected.includes(entry.refs[i]!))
    : built.patterns;
  return { patterns: kept, unprotected, unverified };
}

/** Say which entries hold the most patterns, so a person knows what to merge. */
export function largestEntries(entries: AccessEntry[]): string {
  return [...entries]
    .sort((a, b) => b.refs.length - a.refs.length)
    .slice(0, 3)
    .map((e) => `${describeEntry(e)}: ${e.refs.length} pattern(s)`)
    .join('; ');
}

/**
 * Thumbprints the provider needs: what is there plus what is wanted, never
 * dropping one (it may be someone else's). undefined when IAM's five would not do.
 */
export function mergeThumbprints(present: string[], wanted: string[]): string[] | undefined {
  const merged = [...present, ...wanted.filter((t) => !present.includes(t))];
  return merged.length <= 5 ? merged : undefined;
}

export interface RetiringRole {
  arn: string;
  managedThrough?: string;
}

export interface RetiringAudience {
  providerArn: string;
  audience: string;
  managedThrough?: string;
}

/** Adds `item` to `list` unless an equal entry is there. */
export function withItem<T extends object>(list: T[] | undefined, item: T): T[] {
  const same = (a: T) => JSON.stringify(a) === JSON.stringify(item);
  return (list ?? []).some(same) ? (list ?? []) : [...(list ?? []), item];
}

/** Entries without undefined fields, so they compare equal whatever wrote them. */
export function compact<T extends object>(item: T): T {
  return Object.fromEntries(Object.entries(item).filter(([, v]) => v !== undefined)) as T;
}
