// The conditions a GitLabAwsFederation carries besides Ready, Reconciling and
// Stalled, each owned by one step, and the reasons they give. A step sets its
// condition False with the reason when it fails, and removes it when it no
// longer applies, so none of them tells of the past.

export const ISSUER_DISCOVERABLE = 'IssuerDiscoverable';
export const IDENTITY_PROVIDER_READY = 'IdentityProviderReady';
export const ROLE_READY = 'RoleReady';
export const USER_READY = 'UserReady';
export const ACCESS_KEY_ROTATED = 'AccessKeyRotated';
export const CI_VARIABLES_READY = 'CIVariablesReady';
export const REFS_PROTECTED = 'RefsProtected';

export const REASONS = {
  ready: 'Ready',
  discovered: 'Discovered',
  thumbprintLimit: 'ThumbprintLimit',
  propagating: 'Propagating',
  subClaimTooCoarse: 'SubClaimTooCoarse',
  unsupportedSubClaim: 'UnsupportedSubClaim',
  projectReplaced: 'ProjectReplaced',
  trustPolicyTooLarge: 'TrustPolicyTooLarge',
  roleOwnedElsewhere: 'RoleOwnedElsewhere',
  rolePathMismatch: 'RolePathMismatch',
  userOwnedElsewhere: 'UserOwnedElsewhere',
  userPathMismatch: 'UserPathMismatch',
  permissionsBoundaryKept: 'PermissionsBoundaryKept',
  written: 'Written',
  variableOwnedElsewhere: 'VariableOwnedElsewhere',
  protected: 'Protected',
  unprotectedRefs: 'UnprotectedRefs',
  protectionUnknown: 'ProtectionUnknown',
  rotated: 'Rotated',
  accessKeyLimit: 'AccessKeyLimit',
  keyNotInGitLab: 'KeyNotInGitLab',
  invalidRotation: 'InvalidRotation',
  regionRequired: 'RegionRequired',
  inlinePoliciesTooLarge: 'InlinePoliciesTooLarge',
} as const;

/** Why an access entry is not in the trust policy at all. */
export type RefusedReason =
  | typeof REASONS.subClaimTooCoarse
  | typeof REASONS.unsupportedSubClaim
  | typeof REASONS.projectReplaced;

export interface RefusedEntry {
  reason: RefusedReason;
  message: string;
}

/** An access entry in words: "project payments/api (refs main, release/*)". */
export function describeEntry(entry: { project?: string; group?: string; refs: string[] }): string {
  return `${entry.project ? `project ${entry.project}` : `group ${entry.group}`} (refs ${entry.refs.join(', ')})`;
}

export function tooCoarseMessage(project: string, components: string[], missing: string[]): string {
  return `project ${project} builds its ID token sub claim from ${components.join(', ')}, without ${missing.join(' and ')}: a trust pattern for it would admit every ${missing.includes('ref') ? 'ref' : 'ref type'}, more than spec.access names, so the entry is left out of the trust policy. A Maintainer can add ${missing.join(' and ')} back to ci_id_token_sub_claim_components (Settings > CI/CD > Token Access, or PUT /projects/:id), or the entry can use ${missing.includes('ref') ? 'refs: ["*"]' : ''}${missing.length === 2 ? ' and ' : ''}${missing.includes('ref_type') ? 'refType: any' : ''} if that is really meant; the setting is read again every resync`;
}

export function unsupportedMessage(project: string, components: string[]): string {
  return `project ${project} builds its ID token sub claim from ${components.join(', ')}; the operator can only express project_path, ref_type and ref (project_path first), so the entry is left out of the trust policy. Set ci_id_token_sub_claim_components back to a combination of those`;
}

export function replacedMessage(path: string, recorded: number, now: number): string {
  return `project ${path} is no longer the project this federation trusted: GitLab now has project ID ${now} at that path, where it had ID ${recorded} (deleted and re-created, or transferred). It is left out of the trust policy. If the new project is the one to trust, remove it from spec.access, apply, and add it back`;
}
