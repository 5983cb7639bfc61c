// A stateful fake of the GitLab REST API and GitLab's OIDC issuer, for tests
// that drive it through real clients (@gitbeaker/rest, fetch). See docs/fakes.md.
export type { FaultSpec } from './faults.ts';
export type { MintIdTokenOptions } from './oidc.ts';
export type { GitLabFake, GitLabFakeOptions, OidcSettings, RecordedRequest } from './server.ts';
export { startGitLabFake } from './server.ts';
export type {
  AccessLevelRecord,
  ProjectOrTarget,
  ProtectBranchOptions,
  ProtectedAccessLevel,
  ProtectedBranch,
  ProtectedTag,
  Role,
  Target,
  TokenScope,
  Variable,
  VariableInput,
  Visibility,
} from './state.ts';
export {
  ACCESS_LEVEL,
  ALLOWED_SUB_CLAIM_COMPONENTS,
  DEFAULT_SUB_CLAIM_COMPONENTS,
  FakeState,
  refMatches,
  subClaimComponentErrors,
} from './state.ts';
export type { TlsMaterial } from './tls.ts';
